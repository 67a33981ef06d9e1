"""When a member gets a step's direct message: the step's local time in their timezone,
inside the step's useful window, never in their quiet hours."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.engine import i18n
from bot.engine.community_settings import CommunitySettings
from storage.models import Community, Member

# The furthest east a member can live (UTC+14, Kiribati's Line Islands): a step that
# reaches every member at the same local hour runs when that hour first comes anywhere,
# so a member east of the community is not reached later in their day.
EAST_MOST = timedelta(hours=14)


@dataclass(frozen=True, slots=True)
class LocalTime:
    """``at`` o'clock on ``day`` wherever each member is, useful until ``until`` (UTC)."""

    day: date
    at: time
    until: datetime


def first_comes(step: LocalTime) -> datetime:
    """The first moment (UTC) it is ``step.at`` on ``step.day`` somewhere: when such a step
    runs, each member's DM then waiting for their own hour (:func:`deliver_at`)."""
    return datetime.combine(step.day, step.at, tzinfo=UTC) - EAST_MOST


def step_of(due: datetime, until: datetime) -> LocalTime:
    """The local time an occurrence due at ``first_comes(step)`` was planned for."""
    planned = (due + EAST_MOST).astimezone(UTC)
    return LocalTime(planned.date(), planned.time().replace(tzinfo=None), until)


def in_community(community: Community, step: LocalTime) -> datetime:
    """The step's local time in the community's own timezone (its groups' hour), as UTC."""
    zone = ZoneInfo(community.timezone)
    return datetime.combine(step.day, step.at, tzinfo=zone).astimezone(UTC)


def east_of_community(community: Community, member: Member, step: LocalTime) -> bool:
    """Whether the step's hour comes for ``member`` before it comes in the community's
    timezone (they live east of it, on the step's day: daylight saving may change that)."""
    zone = i18n.zone_of(community, member)
    return datetime.combine(step.day, step.at, tzinfo=zone) < in_community(community, step)


def out_of_quiet(moment: datetime, quiet: tuple[time, time] | None) -> datetime:
    """``moment`` (aware, in the member's zone), or the end of the quiet hours it falls in."""
    if quiet is None:
        return moment
    start, end = quiet
    clock = moment.timetz().replace(tzinfo=None)
    zone = moment.tzinfo
    if start <= end:  # quiet within one day, e.g. 13:00-14:00
        if start <= clock < end:
            return datetime.combine(moment.date(), end, tzinfo=zone)
        return moment
    if clock >= start:  # evening: until the next morning
        return datetime.combine(moment.date() + timedelta(days=1), end, tzinfo=zone)
    if clock < end:  # small hours: until this morning
        return datetime.combine(moment.date(), end, tzinfo=zone)
    return moment


def deliver_at(
    community: Community, member: Member, now: datetime, step: LocalTime | None = None
) -> datetime:
    """When a step's DM should reach ``member`` (``now`` or later).

    With ``step``, the step's local time in the member's timezone (a member west of the
    community gets it later; one whose time has passed gets it now); when that would be
    after the step stops being useful, now. Quiet hours defer it to their end, unless
    that too is past the step's window (then it goes now rather than never).
    """
    zone = i18n.zone_of(community, member)
    settings = CommunitySettings.of(community.settings)
    when = now
    if step is not None:
        # combine() with a ZoneInfo gives the right offset on either side of a DST change.
        local = datetime.combine(step.day, step.at, tzinfo=zone)
        if now < local < step.until:
            when = local
    later = out_of_quiet(when.astimezone(zone), settings.quiet)
    if step is not None and later >= step.until:
        return when
    return max(later, now).astimezone(UTC)
