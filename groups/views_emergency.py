"""R5.1: the emergency measures page, where supervisors throw and end the platform's switches and staff
see what is in force and what was."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from common.actors import Actor
from common.policies import PolicyDenied
from groups import policies, selectors, services
from groups.models import EmergencyKind, EmergencyMeasure, GroupCategory


class EmergencyForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("Measure"), choices=EmergencyKind.choices)
    categories = forms.ModelMultipleChoiceField(
        label=gettext_lazy("Categories of groups"),
        queryset=GroupCategory.objects.order_by("position", "pk"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=gettext_lazy("For holding and suspending: none chosen means every group."),
    )
    ends_at = forms.DateTimeField(
        label=gettext_lazy("In force until"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
    )
    reason = forms.CharField(
        label=gettext_lazy("Reason"), max_length=500, widget=forms.Textarea(attrs={"rows": 2})
    )
    notice = forms.CharField(
        label=gettext_lazy("Notice shown to everyone"),
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=gettext_lazy("Only for a system notice."),
    )


def _require_view(request) -> None:
    decision = policies.can_view_emergency(request.user)
    if not decision:
        raise PermissionDenied(decision.reason)


@login_required
@require_http_methods(["GET", "POST"])
def emergency_measures(request):
    """In force now, the form to declare one (supervisors), and the history, newest first."""
    _require_view(request)
    may_declare = bool(policies.can_declare_emergency(request.user))
    form = EmergencyForm(request.POST or None) if may_declare else None
    if request.method == "POST":
        if form is None:
            raise PermissionDenied(_("Only supervisors declare or end emergency measures."))
        if form.is_valid():
            data = form.cleaned_data
            try:
                measure = services.emergency_measure_declare(
                    actor=Actor.from_request(request),
                    kind=data["kind"],
                    reason=data["reason"],
                    ends_at=data["ends_at"],
                    categories=list(data["categories"]),
                    notice=data["notice"],
                )
            except ValidationError as exc:
                form.add_error(None, exc)
            except PolicyDenied as exc:
                raise PermissionDenied(exc.message) from exc
            else:
                messages.success(
                    request,
                    _("In force until %(until)s: %(measure)s.")
                    % {
                        "until": f"{timezone.localtime(measure.ends_at):%Y-%m-%d %H:%M}",
                        "measure": measure.get_kind_display(),
                    },
                )
                return redirect("emergency-measures")
    history = Paginator(selectors.emergency_measures(in_force=False), 50).get_page(request.GET.get("page"))
    return render(
        request,
        "groups/emergency.html",
        {
            "in_force": list(selectors.emergency_measures(in_force=True)),
            "history": history,
            "form": form,
            "may_declare": may_declare,
        },
        status=400 if form is not None and form.errors else 200,
    )


@login_required
@require_POST
def emergency_measure_end(request, pk: int):
    _require_view(request)
    measure = get_object_or_404(EmergencyMeasure, pk=pk)
    try:
        services.emergency_measure_end(
            actor=Actor.from_request(request), measure=measure, reason=request.POST.get("reason", "")
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    except PolicyDenied as exc:
        raise PermissionDenied(exc.message) from exc
    else:
        messages.success(request, _("Ended: %(measure)s.") % {"measure": measure.get_kind_display()})
    return redirect("emergency-measures")
