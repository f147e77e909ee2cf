from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from accounts.models import Membership, Team, User

# (username, team, role): demo and demo2 share "Demo team"'s connections; demo3 is another
# team's, and sees none of them. The password is the username.
PEOPLE = [("demo", "Demo team", Membership.Role.ADMIN),
          ("demo2", "Demo team", Membership.Role.MEMBER),
          ("demo3", "Other team", Membership.Role.ADMIN)]


class Command(BaseCommand):
    help = ("Create the demo users (demo, demo2, demo3; the password is the username) and their "
            "teams for the embedded default. DEBUG only.")

    def handle(self, *args, **options):
        if not settings.DEBUG:
            raise CommandError("setup_demo creates users with known passwords: DEBUG only.")
        for username, team_name, role in PEOPLE:
            user, created = User.objects.get_or_create(
                username=username,
                defaults={"email": f"{username}@example.com", "is_staff": username == "demo",
                          "is_superuser": username == "demo"})
            if created:
                user.set_password(username)
                user.save()
            team = Team.objects.filter(name=team_name).first()
            if team is None:  # the user's own team (made at sign-up) becomes the named one
                team = user.teams.order_by("pk").first()
                team.name = team_name
                team.save(update_fields=["name"])
            Membership.objects.get_or_create(team=team, user=user, defaults={"role": role})
            self.stdout.write(f"{username}: {'created' if created else 'exists'}, in {team_name} "
                              f"({role})")
        self.stdout.write("log in as demo / demo (also admin); demo2 / demo2 shares Demo team's "
                          "connections; demo3 / demo3 is in Other team")
