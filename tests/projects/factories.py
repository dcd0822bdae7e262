"""Projects factories: templates and rate cards."""

from crm.choices import ServiceType
from projects.models import MilestoneTemplate, ProjectTemplate, TaskTemplate


def make_template(service_type: str = ServiceType.IMPLEMENTATION) -> ProjectTemplate:
    template, created = ProjectTemplate.objects.get_or_create(
        service_type=service_type, defaults={"name": f"{service_type} template", "code_prefix": "IMP"}
    )
    if created:
        TaskTemplate.objects.create(template=template, name="Analysis", order=1, share_percent=20)
        TaskTemplate.objects.create(template=template, name="Build", order=2, share_percent=60)
        TaskTemplate.objects.create(template=template, name="Go-live", order=3, share_percent=20)
        MilestoneTemplate.objects.create(template=template, name="Kick-off", order=1, offset_days=0)
        MilestoneTemplate.objects.create(template=template, name="Go-live review", order=2, offset_days=60)
    return template
