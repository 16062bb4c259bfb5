from django.contrib.auth import login
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods

from common.actors import Actor
from common.policies import PolicyDenied
from identity import services
from identity.forms import SignupForm


def _safe_next(request) -> str | None:
    """A same-site path to return to after signing up, or None."""
    target = request.POST.get("next") or request.GET.get("next")
    if (
        target
        and target.startswith("/")
        and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure())
    ):
        return target
    return None


@require_http_methods(["GET", "POST"])
def signup(request):
    if request.user.is_authenticated:
        return HttpResponseRedirect(_safe_next(request) or reverse("home"))
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.user_register(
                actor=Actor.from_request(request),
                username=form.cleaned_data["username"],
                password=form.cleaned_data["password1"],
                nickname=form.cleaned_data["nickname"],
            )
        except ValidationError as exc:  # password rules, or a name taken by a parallel sign-up
            form.add_error(None if hasattr(exc, "error_dict") else "password1", exc)
        except PolicyDenied as exc:
            form.add_error(None, exc.message)
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            return HttpResponseRedirect(_safe_next(request) or reverse("home"))
    return render(request, "identity/signup.html", {"form": form, "next": _safe_next(request) or ""})
