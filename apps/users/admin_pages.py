"""The users page for admins: list and add accounts; per account: enable/disable, reset the password,
set groups, see and revoke its API tokens."""

from functools import wraps

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from . import accounts
from .models import DEFAULT_GROUP, ApiToken, User
from .ownership import is_admin


def admin_required(view):
    @wraps(view)
    @login_required
    def checked(request, *args, **kwargs):
        if not is_admin(request.user):
            raise PermissionDenied("Only admins manage accounts.")
        return view(request, *args, **kwargs)

    return checked


class GroupsField(forms.ModelMultipleChoiceField):
    widget = forms.CheckboxSelectMultiple

    def __init__(self, **kwargs):
        super().__init__(queryset=accounts.all_groups(), required=False, to_field_name="name",
                         label=_("Groups"), help_text=_("The admin group makes an admin, here and in Django admin."),
                         **kwargs)

    def label_from_instance(self, group):
        return group.name


class AddAccountForm(forms.Form):
    username = forms.RegexField(regex=r"^[\w.@+-]+\Z", max_length=150,
                                label=_("Username"), help_text=_("Letters, digits and @ . + - _ only."))
    email = forms.EmailField(label=_("E-mail"), required=False)
    password = forms.CharField(widget=forms.PasswordInput, label=_("Password"), help_text=_("Pass it on to the person; they can change it."))
    groups = GroupsField()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["groups"].initial = list(Group.objects.filter(name=DEFAULT_GROUP))

    def clean_username(self):
        username = self.cleaned_data["username"]
        if User.objects.filter(username__iexact=username).exists():
            raise forms.ValidationError(_("An account with this username already exists."))
        return username

    def clean(self):
        data = super().clean()
        if data.get("password"):
            try:
                validate_password(data["password"], User(username=data.get("username", "")))
            except forms.ValidationError as exc:
                self.add_error("password", exc)
        return data


class GroupsForm(forms.Form):
    groups = GroupsField()


@admin_required
def account_list(request):
    form = AddAccountForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        user = accounts.create_account(data["username"], data["email"], data["password"], data["groups"])
        messages.success(request, _("Added “%(name)s”.") % {"name": user.username})
        return redirect("users-admin:detail", user.pk)
    users = User.objects.prefetch_related("groups").order_by("username")
    return render(request, "users/admin_list.html", {"accounts": users, "form": form},
                  status=400 if form.is_bound else 200)


def _detail(request, account, *, groups_form=None, new_password=None, status=200):
    return render(request, "users/admin_detail.html", {
        "account": account, "new_password": new_password,
        "groups_form": groups_form or GroupsForm(initial={"groups": list(account.groups.all())}),
        "tokens": account.api_tokens.all(),
    }, status=status)


@admin_required
def account_detail(request, pk: int):
    return _detail(request, get_object_or_404(User, pk=pk))


@admin_required
@require_POST
def account_groups(request, pk: int):
    account = get_object_or_404(User, pk=pk)
    form = GroupsForm(request.POST)
    if not form.is_valid():
        return _detail(request, account, groups_form=form, status=400)
    if account == request.user and not any(g.name == "admin" for g in form.cleaned_data["groups"]):
        messages.error(request, _("You cannot remove yourself from the admin group; ask another admin."))
        return redirect("users-admin:detail", account.pk)
    accounts.set_groups(account, form.cleaned_data["groups"])
    messages.success(request, _("Groups of “%(name)s” saved.") % {"name": account.username})
    return redirect("users-admin:detail", account.pk)


@admin_required
@require_POST
def account_active(request, pk: int):
    account = get_object_or_404(User, pk=pk)
    active = request.POST.get("active") == "1"
    if account == request.user and not active:
        messages.error(request, _("You cannot disable your own account."))
    else:
        accounts.set_active(account, active)
        messages.success(request, (_("“%(name)s” is enabled.") if active else
                              _("“%(name)s” is disabled: it can no longer log in or use its tokens.")) % {"name": account.username})
    return redirect("users-admin:detail", account.pk)


@admin_required
@require_POST
def account_reset_password(request, pk: int):
    account = get_object_or_404(User, pk=pk)
    return _detail(request, account, new_password=accounts.reset_password(account))


@admin_required
@require_POST
def account_revoke_token(request, pk: int, token_pk: int):
    token = get_object_or_404(ApiToken, pk=token_pk, owner_id=pk)
    token.revoke()
    messages.success(request, _("Token “%(name)s” revoked.") % {"name": token.name})
    return redirect("users-admin:detail", pk)
