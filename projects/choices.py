"""Projects choices: statuses and kinds, and the allowed transitions of each status."""

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


class EntryStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SUBMITTED = "submitted", "Submitted"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"


# Who may move an entry (or expense) where: consultants submit drafts and rejected ones; PMs decide.
ENTRY_TRANSITIONS: dict[str, tuple[str, ...]] = {
    EntryStatus.DRAFT: (EntryStatus.SUBMITTED,),
    EntryStatus.REJECTED: (EntryStatus.SUBMITTED, EntryStatus.DRAFT),
    EntryStatus.SUBMITTED: (EntryStatus.APPROVED, EntryStatus.REJECTED),
    EntryStatus.APPROVED: (),
}
EDITABLE_STATUSES = (EntryStatus.DRAFT, EntryStatus.REJECTED)


class AllocationKind(models.TextChoices):
    SOFT = "soft", "Soft (tentative)"
    HARD = "hard", "Hard (confirmed)"


class TimeOffKind(models.TextChoices):
    HOLIDAY = "holiday", "Public holiday"
    LEAVE = "leave", "Leave"
    SICK = "sick", "Sick"


class RebillPolicy(models.TextChoices):
    AT_COST = "at_cost", "At cost"
    MARKUP = "markup", "With markup"
    NONE = "none", "Not re-billed"


class ExpenseCategory(models.TextChoices):
    TRAVEL = "travel", "Travel"
    LODGING = "lodging", "Lodging"
    MEALS = "meals", "Meals"
    SOFTWARE = "software", "Software"
    OTHER = "other", "Other"
