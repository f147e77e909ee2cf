"""How the demo host's database made before teams finds each integration's team (integrations'
migration 0009 calls it through INTEGRATIONS_OWNER_FROM_USER): the user's own team, which
accounts' migration 0002 gave every existing user."""


def own_team(apps, user_id):
    Membership = apps.get_model("accounts", "Membership")
    return (Membership.objects.filter(user_id=user_id, role="admin").order_by("team_id")
            .values_list("team_id", flat=True).first())
