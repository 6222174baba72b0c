from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _

from .models import ApiToken, UserSecret


class LoginForm(AuthenticationForm):
    """Django's login form, saying so when the login was refused because of too many failures."""

    def clean(self):
        try:
            return super().clean()
        except forms.ValidationError:
            if getattr(self.request, "login_locked_out", False):
                minutes = max(1, settings.LOGIN_LOCKOUT_SECONDS // 60)
                raise forms.ValidationError(
                    f"Too many failed logins. Try again in up to {minutes} minutes.", code="locked_out",
                ) from None
            raise


class ApiTokenForm(forms.ModelForm):
    expires_in_days = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=3650,
        label=_("Expires after (days)"),
        help_text=_("Leave empty for a token that does not expire."),
    )

    class Meta:
        model = ApiToken
        fields = ["name"]
        labels = {"name": _("Name")}
        help_texts = {"name": _("What the token is for, e.g. 'CI pipeline' or 'laptop'.")}


class UserSecretForm(forms.ModelForm):
    value = forms.CharField(
        widget=forms.PasswordInput(render_value=False),
        max_length=4096,
        label=_("Value"),
        help_text=_("Stored encrypted; it is never shown again."),
    )

    class Meta:
        model = UserSecret
        fields = ["name", "kind", "value"]
        labels = {"name": _("Name"), "kind": _("Kind"), "value": _("Value")}
        help_texts = {"name": _("How jobs refer to it, e.g. 'wandb-team'.")}

    def __init__(self, *args, owner=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.owner = owner
        kind = self.fields["kind"]
        kind.choices = [("", _("Choose what it is for"))] + [(v, _(label)) for v, label in kind.choices if v]

    def clean_name(self):
        name = self.cleaned_data["name"]
        if UserSecret.objects.filter(owner=self.owner, name=name).exists():
            raise forms.ValidationError(_("You already have a secret with this name."))
        return name

    def save(self, commit=True):
        self.instance.owner = self.owner
        return super().save(commit)
