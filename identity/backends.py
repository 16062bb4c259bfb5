from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied

from common.actors import client_ip
from common.policies import PolicyDenied
from identity import selectors, throttle


class PhoneOrUsernameBackend(ModelBackend):
    """Sign in with a mainland mobile number or an account name, throttled at every door (page, admin)."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if not username or password is None:
            return None
        ip = client_ip(request.META) if request is not None else None
        try:
            throttle.login_check_allowed(identifier=username, ip=ip)
        except PolicyDenied:
            raise PermissionDenied from None  # authenticate() stops here and signals the failure
        user = selectors.user_get_by_login(username)
        if user is None:
            get_user_model()().set_password(password)  # as slow as a wrong password: no account probing
        elif user.check_password(password) and self.user_can_authenticate(user):
            throttle.login_record_success(identifier=username)
            return user
        throttle.login_record_failure(identifier=username, ip=ip)
        return None
