"""The sync's member steps: Whop members become students (found by their Whop user id, or linked by
e-mail), and memberships decide who is active; an ended membership is kept for the churn analytics."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from .client import PAGE_SIZE

#: Membership statuses that give access: still paying, trialing, set to cancel at the period's end,
#: or a finished one-time purchase. canceled, expired, unresolved and drafted do not.
ACTIVE_STATUSES = frozenset({"trialing", "active", "past_due", "canceling", "completed"})
#: Deliveries (webhook or ``sync:``) whose detail keeps a membership's state and its Whop updated_at.
MEMBERSHIP_EVENTS = ("membership.activated", "membership.deactivated", "membership.updated")


class StudentSteps:
    """The members and memberships steps of a sync (``sync._Run``), and the student writes that
    completions share."""

    # -- members → students ---------------------------------------------------------------------

    def _members(self) -> None:
        self._pages("reading members",
                    lambda after: self.client.members.list(account_id=self.company, first=PAGE_SIZE, after=after),
                    self._apply_members)

    def _apply_members(self, members: list[Any]) -> None:
        for m in members:
            if m.access_level == "admin" or m.user is None:  # the company's team, not students
                continue
            self._count("members")
            name = m.display_name or m.user.name or m.user.username
            email = (m.email or "").strip() or None  # blank: Whop does not show it, not a new address
            found = self._student(m.user.id, email, name, m.last_accessed_at)
            if found is None:
                self._insert_student(m.user.id, email, name, m.last_accessed_at)

    def _student(self, user_id: str, email: str | None, name: str | None, last: str | None) -> Any:
        """Update the student with this Whop user id, or link the one with this e-mail; None if neither."""
        params = {**self.params, "user": user_id, "email": email, "name": name, "last": _time(last)}
        # Whop's e-mail is the member's: a changed one is taken, unless another student of the
        # workspace has that address (then the student keeps theirs, and the summary says so).
        row = self.t.conn.execute(sa.text("""
            UPDATE students s SET name = coalesce(:name, s.name),
                   email = CASE WHEN CAST(:email AS text) IS NOT NULL AND s.email IS DISTINCT FROM :email
                                 AND NOT EXISTS (SELECT 1 FROM students o WHERE o.creator_id = s.creator_id
                                                   AND o.id <> s.id AND lower(o.email) = lower(:email))
                                THEN :email ELSE s.email END,
                   last_active_at = greatest(s.last_active_at, CAST(:last AS timestamptz))
            WHERE s.creator_id = :creator AND s.whop_user_id = :user RETURNING s.id, s.email
        """), params).one_or_none()
        found = row.id if row is not None else None
        if row is not None and email and (row.email or "").lower() != email.lower():
            self.state.emails_kept.append(row.email or user_id)
        if found is None and email:
            found = self.t.conn.execute(sa.text("""
                UPDATE students s SET whop_user_id = :user, name = coalesce(s.name, :name),
                       last_active_at = greatest(s.last_active_at, CAST(:last AS timestamptz))
                WHERE s.creator_id = :creator AND s.whop_user_id IS NULL AND lower(s.email) = lower(:email)
                RETURNING s.id
            """), params).scalar_one_or_none()
        return found

    def _insert_student(self, user_id: str, email: str | None, name: str | None, last: str | None,
                        *, active: bool = True, count: bool = True) -> Any:
        params = {**self.params, "user": user_id, "email": email, "name": name, "last": _time(last),
                  "active": active}
        new = self.t.conn.execute(sa.text("""
            INSERT INTO students (creator_id, whop_user_id, email, name, last_active_at, is_active)
            VALUES (:creator, :user, :email, :name, :last, :active) ON CONFLICT DO NOTHING RETURNING id
        """), params).scalar_one_or_none()
        if new is None:  # the e-mail belongs to a student of another Whop user: keep theirs
            new = self.t.conn.execute(sa.text("""
                INSERT INTO students (creator_id, whop_user_id, name, last_active_at, is_active)
                VALUES (:creator, :user, :name, :last, :active) ON CONFLICT DO NOTHING RETURNING id
            """), params).scalar_one_or_none()
        if new is not None and count:
            self._count("new")
        return new

    # -- memberships → is_active ----------------------------------------------------------------

    def _memberships(self) -> None:
        self._pages("reading memberships",
                    lambda after: self.client.memberships.list(account_id=self.company, first=PAGE_SIZE, after=after),
                    self._apply_memberships)

    def _apply_memberships(self, memberships: list[Any]) -> int:
        """Apply each membership's status to its student; returns how many were skipped as older than
        a state already applied (``newer_state_known``)."""
        skipped = 0
        for m in memberships:
            if m.account is not None and m.account.id == self.company and m.account.title:
                self.t.conn.execute(sa.text("UPDATE whop_connections SET company_title = :title "
                                            "WHERE creator_id = :creator"), {**self.params, "title": m.account.title})
            if not m.user_id:
                continue  # unclaimed: nobody to attach it to
            active = m.status in ACTIVE_STATUSES
            params = {**self.params, "user": m.user_id, "membership": m.id, "active": active}
            if self.newer_state_known(m.user_id, m.id, _time(getattr(m, "updated_at", None))):
                skipped += 1
                continue
            # An active membership wins; an ended one only ends the membership the student is known by,
            # so an old cancelled membership never turns off a student who renewed with a new one.
            was = self.t.conn.execute(sa.text("""
                UPDATE students s SET whop_membership_id = :membership, is_active = :active
                FROM (SELECT id, is_active FROM students WHERE creator_id = :creator AND whop_user_id = :user
                      FOR UPDATE) old
                WHERE s.id = old.id AND (CAST(:active AS boolean) OR s.whop_membership_id IS NULL
                                         OR s.whop_membership_id = :membership OR NOT s.is_active)
                RETURNING old.is_active
            """), params).all()
            if not was and not self.t.conn.execute(sa.text(
                    "SELECT 1 FROM students WHERE creator_id = :creator AND whop_user_id = :user"), params).first():
                # A membership whose member the members list did not show (yet): a student all the same.
                if self._insert_student(m.user_id, None, None, None, active=active) is not None:
                    self.t.conn.execute(sa.text("UPDATE students SET whop_membership_id = :membership "
                                                "WHERE creator_id = :creator AND whop_user_id = :user"), params)
                    self._count("members")
                    if not active:
                        self._count("cancelled")
            elif was and was[0].is_active and not active:
                self._count("cancelled")
            if not active:
                self._observe(m, "membership.deactivated")
            elif self.client is not None:  # a sync (a webhook keeps its own delivery)
                self._observe(m, "membership.activated")
        return skipped

    def newer_state_known(self, user_id: str, membership_id: str, changed_at: datetime | None) -> bool:
        """Whether a state of this membership newer than ``changed_at`` (Whop's updated_at) was already
        applied: a webhook delivered out of order, or a sync page read before a webhook, never
        overwrites it. Locks the student first (``FOR NO KEY UPDATE``), so a webhook and a sync on the
        same student take turns, and the later one sees what the earlier one stored."""
        student = self.t.conn.execute(sa.text(
            "SELECT id FROM students WHERE creator_id = :creator AND whop_user_id = :user FOR NO KEY UPDATE"),
            {**self.params, "user": user_id}).scalar_one_or_none()
        if student is None or changed_at is None:
            return False
        return self.t.conn.execute(sa.text("""
            SELECT 1 FROM whop_deliveries
            WHERE creator_id = :creator AND student_id = :student AND event_type = ANY(:kinds)
              AND detail->>'membership_id' = :membership AND detail->>'updated_at' IS NOT NULL
              AND CAST(detail->>'updated_at' AS timestamptz) > :changed
            LIMIT 1
        """), {**self.params, "student": student, "kinds": list(MEMBERSHIP_EVENTS), "membership": membership_id,
               "changed": changed_at}).first() is not None

    def _observe(self, m: Any, kind: str) -> None:
        """Keep a membership's state as seen by a sync, as a webhook delivery keeps it: the end of the
        student's membership with its status and Whop's cancellation reason (for the churn analytics),
        and every state with Whop's updated_at, so that a delivery older than what the sync read never
        overwrites it (``newer_state_known``); the end of a membership the student is not known by
        (one they replaced) is kept as ``membership.updated``, for that order only. Once per
        membership, status and updated_at."""
        if not m.user_id:
            return
        changed = updated_at(m)
        if kind == "membership.activated" and changed is None:
            return  # nothing to order deliveries by
        detail = {"membership_id": m.id, "status": str(m.status), "cancellation_reason": m.cancellation_reason,
                  "canceled_at": m.canceled_at, "updated_at": changed}
        delivery = f"sync:{m.id}:{m.status}" + (f":{changed}" if changed else "")
        self.t.conn.execute(sa.text("""
            INSERT INTO whop_deliveries (creator_id, delivery_id, event_type, student_id, detail)
            SELECT :creator, :delivery,
                   CASE WHEN s.whop_membership_id = :membership THEN :kind ELSE 'membership.updated' END,
                   s.id, CAST(:detail AS jsonb)
            FROM students s WHERE s.creator_id = :creator AND s.whop_user_id = :user
              AND (s.whop_membership_id = :membership OR CAST(:changed AS text) IS NOT NULL)
            ON CONFLICT DO NOTHING
        """), {**self.params, "delivery": delivery[:200], "kind": kind, "user": m.user_id, "membership": m.id,
               "changed": changed, "detail": json.dumps(detail)})


def updated_at(m: Any) -> str | None:
    """A membership's Whop updated_at as ISO text a query can compare (None when absent or unreadable)."""
    changed = _time(getattr(m, "updated_at", None))
    return changed.isoformat() if changed is not None and changed.tzinfo is not None else None


def _time(text: str | datetime | None) -> datetime | None:
    """A time from Whop: some models parse it already, others keep the ISO text."""
    if isinstance(text, datetime) or not text:
        return text or None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None
