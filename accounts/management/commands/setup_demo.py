from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from accounts.models import User


class Command(BaseCommand):
    help = "Create the demo user (demo / demo, staff) for the embedded default. DEBUG only."

    def handle(self, *args, **options):
        if not settings.DEBUG:
            raise CommandError("setup_demo creates a user with a known password: DEBUG only.")
        user, created = User.objects.get_or_create(
            username="demo",
            defaults={"email": "demo@example.com", "is_staff": True, "is_superuser": True},
        )
        if created:
            user.set_password("demo")
            user.save()
        verb = "created" if created else "exists"
        self.stdout.write(f"demo user {verb}: log in as demo / demo (also admin)")
