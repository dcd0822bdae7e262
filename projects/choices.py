"""Projects choices: statuses and their allowed transitions."""

from django.db import models


class ProjectStatus(models.TextChoices):
    PLANNED = "planned", "Planned"
    ACTIVE = "active", "Active"
    ON_HOLD = "on_hold", "On hold"
    COMPLETED = "completed", "Completed"
    CANCELLED = "cancelled", "Cancelled"


PROJECT_TRANSITIONS: dict[str, tuple[str, ...]] = {
    ProjectStatus.PLANNED: (ProjectStatus.ACTIVE, ProjectStatus.CANCELLED),
    ProjectStatus.ACTIVE: (ProjectStatus.ON_HOLD, ProjectStatus.COMPLETED, ProjectStatus.CANCELLED),
    ProjectStatus.ON_HOLD: (ProjectStatus.ACTIVE, ProjectStatus.CANCELLED),
    ProjectStatus.COMPLETED: (),
    ProjectStatus.CANCELLED: (),
}


class MilestoneStatus(models.TextChoices):
    PLANNED = "planned", "Planned"
    ACHIEVED = "achieved", "Achieved"
    ACCEPTED = "accepted", "Accepted"


MILESTONE_TRANSITIONS: dict[str, tuple[str, ...]] = {
    MilestoneStatus.PLANNED: (MilestoneStatus.ACHIEVED,),
    MilestoneStatus.ACHIEVED: (MilestoneStatus.ACCEPTED, MilestoneStatus.PLANNED),
    MilestoneStatus.ACCEPTED: (),
}


class TaskStatus(models.TextChoices):
    OPEN = "open", "Open"
    DONE = "done", "Done"


class ResourceRequestStatus(models.TextChoices):
    OPEN = "open", "Open"
    FILLED = "filled", "Filled"
    CANCELLED = "cancelled", "Cancelled"


class ChangeOrderStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SUBMITTED = "submitted", "Submitted"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"


CHANGE_ORDER_TRANSITIONS: dict[str, tuple[str, ...]] = {
    ChangeOrderStatus.DRAFT: (ChangeOrderStatus.SUBMITTED,),
    ChangeOrderStatus.SUBMITTED: (ChangeOrderStatus.APPROVED, ChangeOrderStatus.REJECTED),
    ChangeOrderStatus.APPROVED: (),
    ChangeOrderStatus.REJECTED: (ChangeOrderStatus.DRAFT,),
}


class ChangeAction(models.TextChoices):
    ADD = "add", "Add a line"
    AMEND = "amend", "Amend a line"
