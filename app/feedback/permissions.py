from app.auth.models import User
from app.auth.permissions import can_change_settings


def can_read_feedback(user: User) -> bool:
    """The administrators who run the public pages read what people report about them."""
    return can_change_settings(user)
