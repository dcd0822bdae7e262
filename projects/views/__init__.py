"""projects pages, one module per part: engagement (win, projects, milestones, change orders), time (timesheet,
approvals, missing time, expenses, import, time off) and staffing (search, allocate, heatmap, utilization).
projects.urls routes to each module by name."""
