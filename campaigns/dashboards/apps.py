from django.apps import AppConfig


class DashboardsConfig(AppConfig):
    """Campaign dashboards: rollups, figures, pages, live pushes (a sub-app of ``campaigns`` with
    its own migrations, so its tables evolve apart from the campaign models)."""

    name = "campaigns.dashboards"
    label = "dashboards"
    verbose_name = "Campaign dashboards"
    default_auto_field = "django.db.models.BigAutoField"
