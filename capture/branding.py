"""A landing page's look: its brand's logo and colours, and page presets to start from.

Colours reach the page only as CSS custom properties in a style attribute, and only after
matching `#rrggbb` again here (a row written before validation, or by SQL, must not become
markup). The text on a coloured surface is black or white, whichever contrasts more, so a
marketer's pale yellow button stays readable (WCAG AA, what the axe checks hold us to).
"""

from dataclasses import dataclass

from capture.models import Brand, LandingPage
from capture.validators import HEX_COLOR

DEFAULT_PRIMARY = "#0b5ed7"  # Bootstrap's blue a shade darker: white text on it is AA
DEFAULT_BACKGROUND = "#f8f9fa"


@dataclass(frozen=True)
class Look:
    primary: str
    on_primary: str
    background: str
    on_background: str
    logo_url: str
    brand_name: str

    @property
    def style(self) -> str:
        """The custom properties site.css reads; every value is a checked #rrggbb."""
        return (
            f"--lf-primary: {self.primary}; --lf-on-primary: {self.on_primary}; "
            f"--lf-background: {self.background}; --lf-on-background: {self.on_background}"
        )


def _relative_luminance(color: str) -> float:
    channels = [int(color[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast_ratio(first: str, second: str) -> float:
    lighter, darker = sorted((_relative_luminance(first), _relative_luminance(second)))[::-1]
    return (lighter + 0.05) / (darker + 0.05)


def text_color_on(color: str) -> str:
    """White text where it passes WCAG AA (4.5:1, what buttons usually carry), else black or
    white, whichever reads better on `color`."""
    black, white = "#000000", "#ffffff"
    if contrast_ratio(color, white) >= 4.5:
        return white
    return black if contrast_ratio(color, black) >= contrast_ratio(color, white) else white


def _checked(color: str, fallback: str) -> str:
    return color.lower() if HEX_COLOR.fullmatch(color or "") else fallback


def brand_for_page(*, page: LandingPage) -> Brand | None:
    if page.brand_id is not None:
        return page.brand
    return Brand.objects.filter(is_default=True).first()


def look_for(*, brand: Brand | None, logo_url: str = "") -> Look:
    primary = _checked(brand.primary_color if brand else "", DEFAULT_PRIMARY)
    background = _checked(brand.background_color if brand else "", DEFAULT_BACKGROUND)
    return Look(
        primary=primary,
        on_primary=text_color_on(primary),
        background=background,
        on_background=text_color_on(background),
        logo_url=logo_url,
        brand_name=brand.name if brand else "",
    )


# Starting points for a new page: copy and fields per kind of page. Short on purpose: the
# email, a name and the qualifying question; a consultation page asks a phone number too,
# optional, so a rep can call within minutes.
PRESETS: dict[str, dict[str, object]] = {
    LandingPage.Kind.CONSULTATION: {
        "headline": "Talk to an expert about your growth plans",
        "body": "In 30 minutes we look at where your leads come from and what to try next.",
        "cta_label": "Book my free consultation",
        "fields": {
            "first_name": "required",
            "phone": "optional",
            "company": "later",
            "job_title": "later",
        },
        "qualifying_question": "When would you like to start?",
        "qualifying_choices": "Within a month\nIn 1–3 months\nJust researching",
        "form_note": "We reply within one business day. No spam, unsubscribe in one click.",
        "thank_you_text": "Thank you! Pick a time below and we will call you then.",
        "thank_you_note": "A confirmation is on its way to your inbox.",
        "next_step_label": "Pick a time now",
    },
    LandingPage.Kind.DOWNLOAD: {
        "headline": "Get the guide",
        "body": "Twelve pages of what works, with examples you can copy.",
        "cta_label": "Send me the guide",
        "fields": {"first_name": "required", "company": "later", "job_title": "later"},
        "qualifying_question": "What is your biggest challenge?",
        "qualifying_choices": "Getting more leads\nConverting leads\nMeasuring results",
        "form_note": "No spam, unsubscribe in one click.",
        "thank_you_text": "Thank you! Your guide is ready.",
        "thank_you_note": "We also sent the link to your inbox.",
        "next_step_label": "Download the guide",
    },
    LandingPage.Kind.WEBINAR: {
        "headline": "Join the live webinar",
        "body": "One hour, live questions welcome, and the recording afterwards.",
        "cta_label": "Save my seat",
        "fields": {"first_name": "required", "company": "optional", "job_title": "later"},
        "qualifying_question": "Have you run a campaign like this before?",
        "qualifying_choices": "Yes, several\nOnce\nNot yet",
        "form_note": "We send a reminder the day before. No spam, unsubscribe in one click.",
        "thank_you_text": "You're registered!",
        "thank_you_note": "The joining link is on its way to your inbox.",
        "next_step_label": "Add it to my calendar",
    },
}
