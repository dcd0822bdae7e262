"""projects demo data: the engagements (templates, rate cards, the won demo deals; projects.demo.engagement),
then staffing, time and expenses on them (projects.demo.time). Idempotent."""

from projects.demo import engagement, time


def seed() -> list[str]:
    return engagement.seed() + time.seed()
