from django import forms

from helpdesk.uploads import MultipleFileField


class ContactForm(forms.Form):
    URGENCY = [("low", "Not urgent"), ("normal", "Normal"), ("high", "Urgent: I cannot work")]

    name = forms.CharField(max_length=200, label="Your name")
    email = forms.EmailField(label="Your email", help_text="We answer here.")
    subject = forms.CharField(max_length=200)
    description = forms.CharField(
        widget=forms.Textarea,
        max_length=20_000,
        label="What happened?",
        help_text="What you did, what you expected and what you saw instead.",
    )
    urgency = forms.ChoiceField(choices=URGENCY, initial="normal", label="How urgent is it?")
    attachments = MultipleFileField(
        required=False, help_text="Screenshots or logs, up to 10 files."
    )
    # Robots fill every field; people never see this one, cannot tab to it, and their
    # browsers are asked not to fill it. A request with it filled is held, not dropped.
    website = forms.CharField(
        required=False,
        label="Leave this empty",
        widget=forms.TextInput(attrs={"tabindex": "-1", "autocomplete": "off"}),
    )

    def is_robot(self) -> bool:
        return bool(self.cleaned_data.get("website"))
