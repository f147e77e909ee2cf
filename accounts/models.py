from django.contrib.auth.models import AbstractUser


class User(AbstractUser):
    """The project's user. A custom model from day one, so fields can be added later."""

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"
