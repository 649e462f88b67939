"""The forms of the request pages: the queue filter, the statistics filter, a resident's new request."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from tongxin.dispatch import rules
from tongxin.dispatch.models import (
    State,
    Urgency,
)
from tongxin.dispatch.views.common import (
    _category_choices,
    _place_choices,
    _place_field,
)
from tongxin.grid.models import Department
from tongxin.people.scope import is_resident_only

# The state filter: one state, or a group of them. "" (the default) is every open request, or,
# with a search, every request whatever its state: a search finds closed requests too.
ALL_STATES = "all"
DONE = "done"


def state_filter(value: str, *, searching: bool) -> dict:
    """What the queue's state choice asks of ``selectors.request_list``."""
    if value == ALL_STATES or (not value and searching):
        return {}
    if value == DONE:
        return {"states": [State.RESOLVED, State.CLOSED]}
    if value:
        return {"state": value}
    return {"open_only": True}


class QueueFilter(forms.Form):
    q = forms.CharField(required=False, max_length=100, label=_("Find"), widget=forms.TextInput(attrs={
        "type": "search", "placeholder": _("Number, household, name or words"), "autocomplete": "off"}))
    node = forms.CharField(required=False, max_length=18, label=_("Place"), widget=forms.Select)
    category = forms.ChoiceField(required=False, label=_("Category"))
    state = forms.ChoiceField(required=False, label=_("State"))
    department = forms.ChoiceField(required=False, label=_("Department"))
    overdue = forms.BooleanField(required=False, label=_("Overdue only"))

    def __init__(self, data, *, user):
        super().__init__(data)
        everything = [("", _("All"))]
        _place_field(self, user)
        self.fields["category"].choices = everything + _category_choices(include_private=True)
        self.fields["state"].choices = [("", _("Open")), (ALL_STATES, _("Every state")),
                                        (DONE, _("Resolved or closed"))] + [(s.value, s.label) for s in State]
        departments: dict[str, str] = {}  # the filter is by code: the county's name for it first
        for d in Department.objects.filter(rules.departments_near(user)).order_by("node_path", "code"):
            departments.setdefault(d.code, d.name)
        self.fields["department"].choices = everything + list(departments.items())
        # Filed from / until: statistics link to the requests behind a figure of a period. Shown
        # only when given (a link from statistics), so the everyday filter stays short on a phone.
        if data is not None and (data.get("from") or data.get("to")):
            for name, label in (("from", _("Filed from")), ("to", _("Filed until"))):
                self.fields[name] = forms.DateField(required=False, label=label,
                                                    widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        data = super().clean()
        start, end = data.get("from"), data.get("to")
        if start and end and start > end:
            self.add_error("from", _("The period must start before it ends."))
            data.pop("from", None)
        return data


class StatsFilter(forms.Form):
    node = forms.CharField(required=False, max_length=18, label=_("Place"), widget=forms.Select)
    start = forms.DateField(required=False, label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(required=False, label=_("Until"), widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, data, *, user):
        # The address says ?node=&from=&to= (as the API does); the form's fields are start/end.
        if data is not None:
            data = {"node": data.get("node", ""), "start": data.get("from", ""), "end": data.get("to", "")}
        super().__init__(data)
        _place_field(self, user)



class RequestForm(forms.Form):
    client_id = forms.UUIDField(widget=forms.HiddenInput)
    category = forms.ChoiceField(label=_("What is it about?"))
    description = forms.CharField(label=_("Describe the need"), max_length=4000,
                                  widget=forms.Textarea(attrs={"rows": 5}))
    urgency = forms.ChoiceField(label=_("How urgent is it?"), choices=Urgency.choices, initial=Urgency.NORMAL,
                                widget=forms.RadioSelect)
    publish = forms.BooleanField(
        label=_("Publish this request in the public feed"), required=False, initial=False,
        help_text=_("Off unless you choose it. The public feed never shows your name or your words: only the "
                    "category, the state, the township and a short public description that you or the staff "
                    "approve."))
    photo = forms.FileField(label=_("Photo (optional)"), required=False, widget=forms.FileInput(
        attrs={"accept": "image/jpeg,image/png,image/webp"}))
    # Staff filing for a resident say for which household, or for which place.
    household = forms.UUIDField(required=False, widget=forms.HiddenInput)
    household_number = forms.CharField(label=_("Household: the head's name or part of its number"), required=False,
                                       max_length=32)
    place = forms.ChoiceField(label=_("Or a place"), required=False)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = [("", "—")] + _category_choices(include_private=True)
        # Larger photos are made smaller in the browser (dispatch-photo.js): the body limit
        # holds the whole form, so leave room for the other fields.
        self.fields["photo"].widget.attrs["data-shrink-above"] = max(0, settings.MAX_BODY_BYTES - 64 * 1024)
        self.staff = not is_resident_only(user)
        if self.staff:
            self.fields["place"].choices = [("", "—")] + _place_choices(user)
        else:
            for name in ("household", "household_number", "place"):
                del self.fields[name]


