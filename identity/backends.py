from django.contrib.auth.backends import ModelBackend

from identity import selectors


class PhoneOrUsernameBackend(ModelBackend):
    """Sign in with a mainland mobile number or an account name."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if not username or password is None:
            return None
        user = selectors.user_get_by_login(username)
        if user is None:
            self.user_model_set_password_to_slow_down(password)
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None

    def user_model_set_password_to_slow_down(self, password):
        """Run the hasher anyway so that a missing account takes as long as a wrong password."""
        from django.contrib.auth import get_user_model

        get_user_model()().set_password(password)
