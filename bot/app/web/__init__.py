"""The meeting pack: server-rendered pages of a community's wall and journey and of a
meeting's agenda and harvest, opened by signed expiring links, and a one-page poster
per meeting (PDF or PNG)."""
