"""The steps of the timetable."""
