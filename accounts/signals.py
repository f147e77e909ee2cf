"""Every new user gets a team of their own (they are its admin)."""

from django.conf import settings
from django.db.models.signals import post_save
from django.dispatch import receiver


@receiver(post_save, sender=settings.AUTH_USER_MODEL, dispatch_uid="accounts.own_team")
def own_team(sender, instance, created, raw=False, **kwargs):
    from .models import Membership, Team

    if created and not raw:
        team = Team.objects.create(name=f"{instance.get_username()}'s team")
        Membership.objects.create(team=team, user=instance, role=Membership.Role.ADMIN)
