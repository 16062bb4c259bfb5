"""Account pages: sign-up by mobile, sign-in, real-name verification, agreements, profile, sessions,
account deletion, and the compliance staff's verification review."""

from __future__ import annotations

import difflib

from django.contrib import messages
from django.contrib.auth import authenticate, login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from common.actors import Actor
from common.policies import PolicyDenied
from identity import policies, selectors, services, throttle
from identity.forms import (
    DecisionForm,
    LoginForm,
    PasswordConfirmForm,
    ProfileForm,
    RevealForm,
    SignupForm,
    VerificationForm,
)
from identity.idnumber import mask_phone
from identity.models import AgreementDocument, AgreementKind, IdentityVerification, VerificationStatus

FIELD_OF_CODE = {
    "phone": "phone",
    "sms": "sms_code",
    "nickname": "nickname",
    "password": "password1",
    "agreement": "accept",
    "id": "id_number",
    "name": "real_name",
    "consent": "consent",
}


def _form_error(form, exc: Exception) -> None:
    """Put a service's refusal beside the field it is about, in the user's language."""
    if isinstance(exc, PolicyDenied):
        form.add_error(None, exc.message)
        return
    if hasattr(exc, "error_dict"):
        form.add_error(None, exc)
        return
    field = FIELD_OF_CODE.get((exc.code or "").split("_")[0]) if getattr(exc, "code", None) else None
    if exc.code is None and field is None:
        field = "password1" if "password1" in form.fields else None  # Django's password validators
    form.add_error(field if field in form.fields else None, exc)


def _safe_next(request) -> str | None:
    """A same-site path to return to, or None."""
    target = request.POST.get("next") or request.GET.get("next")
    if (
        target
        and target.startswith("/")
        and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure())
    ):
        return target
    return None


def _steps(user) -> list[dict]:
    status = selectors.verification_status(user) if user.is_authenticated else ""
    owed = bool(user.is_authenticated and selectors.agreements_owed(user))
    return [
        {"label": _("Account"), "done": user.is_authenticated},
        {
            "label": _("Real-name verification"),
            "done": status == VerificationStatus.VERIFIED,
            "waiting": status in (VerificationStatus.PENDING, VerificationStatus.GUARDIAN_REQUIRED),
        },
        {"label": _("Agreements"), "done": user.is_authenticated and not owed},
        {"label": _("Start chatting"), "done": user.is_authenticated and policies.can_publish(user).allowed},
    ]


@sensitive_post_parameters("password1", "password2", "sms_code")
@require_http_methods(["GET", "POST"])
def signup(request):
    if request.user.is_authenticated:
        return HttpResponseRedirect(_safe_next(request) or reverse("home"))
    form = SignupForm(request.POST or None)
    actor = Actor.from_request(request)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            if request.POST.get("action") == "send_code":
                phone = services.sms_code_send(actor=actor, phone=data["phone"], purpose="signup")
                messages.success(
                    request,
                    _("A code was sent to %(phone)s. It is valid for 5 minutes.")
                    % {"phone": mask_phone(phone)},
                )
            else:
                user = services.user_register(
                    actor=actor,
                    phone=data["phone"],
                    sms_code=data["sms_code"],
                    password=data["password1"],
                    nickname=data["nickname"],
                    accept_agreements=data["accept"],
                )
                login(request, user, backend="identity.backends.PhoneOrUsernameBackend")
                messages.success(
                    request, _("Welcome! One more step: verify your real name to start publishing.")
                )
                return HttpResponseRedirect(_safe_next(request) or reverse("identity-verify"))
        except (ValidationError, PolicyDenied) as exc:
            _form_error(form, exc)
    return render(
        request,
        "identity/signup.html",
        {
            "form": form,
            "next": _safe_next(request) or "",
            "service_agreement": selectors.agreement_current(AgreementKind.SERVICE_AGREEMENT),
            "convention": selectors.agreement_current(AgreementKind.CONVENTION),
        },
    )


@sensitive_post_parameters("password")
@require_http_methods(["GET", "POST"])
def login_view(request):
    if request.user.is_authenticated:
        return HttpResponseRedirect(_safe_next(request) or reverse("home"))
    form = LoginForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        actor = Actor.from_request(request)
        identifier = form.cleaned_data["identifier"]
        try:
            throttle.login_check_allowed(identifier=identifier, ip=actor.ip)
        except PolicyDenied as exc:
            form.add_error(None, exc.message)
        else:
            user = authenticate(request, username=identifier, password=form.cleaned_data["password"])
            if user is None:
                form.add_error(None, _("The mobile number, account name or password is not correct."))
            else:
                login(request, user)
                return HttpResponseRedirect(_safe_next(request) or reverse("home"))
    return render(request, "identity/login.html", {"form": form, "next": _safe_next(request) or ""})


@sensitive_post_parameters("real_name", "id_number")
@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def verify(request):
    verification = selectors.verification_get(request.user)
    form = VerificationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            verification = services.verification_submit(
                actor=Actor.from_request(request), **form.cleaned_data
            )
        except (ValidationError, PolicyDenied) as exc:
            _form_error(form, exc)
        else:
            if verification.status == VerificationStatus.VERIFIED:
                messages.success(request, _("Your real name is verified."))
                if selectors.agreements_owed(request.user):
                    return redirect("agreements-accept")
                return HttpResponseRedirect(_safe_next(request) or reverse("home"))
            return redirect("identity-verify")
    return render(
        request,
        "identity/verify.html",
        {
            "form": form,
            "verification": verification,
            "steps": _steps(request.user),
            "can_submit": policies.can_submit_verification(request.user).allowed,
            "notice": selectors.agreement_current(AgreementKind.SENSITIVE_NOTICE),
            "next": _safe_next(request) or "",
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def agreements_accept(request):
    if request.method == "POST":
        shown = [int(pk) for pk in request.POST.getlist("document") if pk.isdigit()]
        try:
            services.agreement_accept(actor=Actor.from_request(request), shown=shown)
        except PolicyDenied as exc:
            messages.error(request, exc.message)
            return redirect("agreements-accept")
        messages.success(request, _("Thank you. You accepted the current versions."))
        return HttpResponseRedirect(_safe_next(request) or reverse("home"))
    return render(
        request,
        "identity/agreements_accept.html",
        {"owed": selectors.agreements_owed(request.user), "steps": _steps(request.user)},
    )


def legal_index(request):
    return render(request, "identity/legal_index.html", {"documents": selectors.agreement_current_all()})


def _kind_or_404(kind: str) -> str:
    if kind not in AgreementKind.values:
        raise Http404
    return kind


def legal_document(request, kind, version=None):
    kind = _kind_or_404(kind)
    versions = AgreementDocument.objects.filter(kind=kind).order_by("-version")
    document = get_object_or_404(versions, version=version) if version else versions.first()
    if document is None:
        raise Http404
    return render(request, "identity/legal_document.html", {"document": document, "versions": versions})


def legal_diff(request, kind, old, new):
    kind = _kind_or_404(kind)
    before = get_object_or_404(AgreementDocument, kind=kind, version=old)
    after = get_object_or_404(AgreementDocument, kind=kind, version=new)
    lines = list(difflib.unified_diff(before.body.splitlines(), after.body.splitlines(), lineterm="", n=2))[
        2:
    ]
    rows = [
        {"kind": "add" if line[:1] == "+" else "del" if line[:1] == "-" else "ctx", "text": line}
        for line in lines
    ]
    return render(request, "identity/legal_diff.html", {"before": before, "after": after, "rows": rows})


@login_required
@require_http_methods(["GET", "POST"])
def profile(request):
    form = ProfileForm(request.POST or None, initial={"nickname": request.user.nickname})
    if request.method == "POST" and form.is_valid():
        try:
            services.profile_update(actor=Actor.from_request(request), nickname=form.cleaned_data["nickname"])
        except PolicyDenied as exc:
            form.add_error(None, exc.message)
            return render(request, "identity/profile.html", _profile_context(request, form, exc))
        except ValidationError as exc:
            form.add_error("nickname", exc)
        else:
            messages.success(request, _("Your nickname was saved."))
            return redirect("profile")
    return render(request, "identity/profile.html", _profile_context(request, form))


def _profile_context(request, form, denied=None):
    return {
        "form": form,
        "verification": selectors.verification_get(request.user),
        "phone": mask_phone(request.user.phone) if request.user.phone else "",
        "denied": denied,
        "restrictions": selectors.restrictions_active(request.user),
    }


@login_required
@require_http_methods(["GET", "POST"])
def sessions(request):
    if request.method == "POST":
        try:
            services.user_session_end(
                actor=Actor.from_request(request), session_key=request.POST.get("session", "")
            )
        except PolicyDenied as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("That browser was signed out."))
        return redirect("sessions")
    return render(
        request,
        "identity/sessions.html",
        {"sessions": selectors.session_list(request.user), "current": request.session.session_key},
    )


@sensitive_post_parameters("password")
@login_required
@require_http_methods(["GET", "POST"])
def account_delete(request):
    form = PasswordConfirmForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.account_delete(actor=Actor.from_request(request), password=form.cleaned_data["password"])
        except ValidationError as exc:
            form.add_error("password", exc)
        else:
            request.session.flush()
            return render(request, "identity/deleted.html")
    return render(request, "identity/delete.html", {"form": form})


# --- compliance: verification review ---------------------------------------------------------------


@login_required
def review_queue(request):
    policies.require_review_verification(request.user)
    return render(request, "identity/review_queue.html", {"queue": selectors.verification_queue()})


@sensitive_post_parameters("reason")
@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def review_detail(request, pk):
    policies.require_review_verification(request.user)
    verification = get_object_or_404(IdentityVerification.objects.select_related("user"), pk=pk)
    actor = Actor.from_request(request)
    decision_form, reveal_form, revealed = DecisionForm(), RevealForm(), None
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action in ("approve", "reject"):
                decision_form = DecisionForm(request.POST)
                decision_form.is_valid()
                services.verification_decide(
                    actor=actor,
                    verification=verification,
                    approve=action == "approve",
                    note=decision_form.cleaned_data.get("note", ""),
                )
                messages.success(request, _("Decision recorded."))
                return redirect("review-queue")
            if action == "guardian":
                decision_form = DecisionForm(request.POST)
                decision_form.is_valid()
                services.verification_guardian_consent(
                    actor=actor, verification=verification, note=decision_form.cleaned_data.get("note", "")
                )
                messages.success(
                    request, _("Guardian consent recorded; the verification now waits for a decision.")
                )
                return redirect("review-detail", pk=verification.pk)
            if action == "reveal":
                reveal_form = RevealForm(request.POST)
                if reveal_form.is_valid():
                    revealed = services.identity_reveal(
                        actor=actor, verification=verification, reason=reveal_form.cleaned_data["reason"]
                    )
        except (ValidationError, PolicyDenied) as exc:
            messages.error(request, exc.message if isinstance(exc, PolicyDenied) else " ".join(exc.messages))
        verification.refresh_from_db()
    return render(
        request,
        "identity/review_detail.html",
        {
            "v": verification,
            "decision_form": decision_form,
            "reveal_form": reveal_form,
            "revealed": revealed,
            "can_reveal": request.user.has_perm("identity.reveal_identityverification"),
        },
    )
