"""The local Hub's scheduled Jobs: who the token is (/api/whoami-v2, which the Jobs client asks for
its namespace) and scheduled Jobs (/api/scheduled-jobs/<namespace>: create, list, delete),
as huggingface_hub 2.4.0's HfApi calls them.

Nothing runs here: a scheduled Job never fires. What a test checks is what the client sent
(HubState.scheduled_jobs) and that listing and removing answer in the Hub's shape
(ScheduledJobInfo); a test runs the command itself.
"""

from __future__ import annotations

import hashlib
import re
import uuid

from testing.hub.messages import HubError, Request, Response, refusal
from testing.hub.model import now
from testing.hub.routes import Routes

# What the Hub takes as a schedule: one of these, or five cron fields.
SCHEDULES = ("@annually", "@yearly", "@monthly", "@weekly", "@daily", "@hourly")
CRON_FIELD = re.compile(r"^[\d*/,\-]+$")


def valid_schedule(schedule: str) -> bool:
    fields = schedule.split()
    return schedule in SCHEDULES or (len(fields) == 5 and all(CRON_FIELD.match(field) for field in fields))


class JobsRoutes(Routes):
    """/api/whoami-v2, /api/scheduled-jobs/..."""

    def route_jobs(self, method: str, s: list[str]):
        """s: the path after /api/."""
        match method, s:
            case "GET", ["whoami-v2"]:
                return "whoami", self.whoami
            case "POST", ["scheduled-jobs", namespace]:
                return "scheduled-jobs", lambda request: self.create_scheduled(request, namespace)
            case "GET", ["scheduled-jobs", namespace]:
                return "scheduled-jobs", lambda request: self.list_scheduled(request, namespace)
            case "DELETE", ["scheduled-jobs", namespace, job_id]:
                return "scheduled-jobs", lambda request: self.delete_scheduled(request, namespace, job_id)
        return None

    # who ----------------------------------------------------------------------------------------
    def _signed_in(self, request: Request) -> bool:
        if not self.authenticated(request):
            raise refusal(401, "You must be authenticated to use Jobs")  # the Hub: Jobs need a token
        return True

    def _owner(self, request: Request, namespace: str) -> dict:
        self._signed_in(request)
        if namespace != self.state.user:
            raise HubError(403, f"You cannot run Jobs in the namespace {namespace}")
        return {"id": hashlib.sha1(namespace.encode()).hexdigest()[:24], "name": namespace, "type": "user"}

    def whoami(self, request: Request) -> Response:
        self._signed_in(request)
        user = self.state.user
        return Response.of_json({"type": "user", "id": hashlib.sha1(user.encode()).hexdigest()[:24], "name": user,
                                 "fullname": user, "orgs": [],
                                 "auth": {"type": "access_token", "accessToken": {"displayName": "tests",
                                                                                  "role": "write"}}})

    # scheduled jobs -------------------------------------------------------------------------------
    def create_scheduled(self, request: Request, namespace: str) -> Response:
        owner = self._owner(request, namespace)
        body = request.json()
        if not valid_schedule(str(body.get("schedule", ""))):
            raise HubError(400, f"Invalid schedule: {body.get('schedule')!r}")
        spec = body.get("jobSpec") or {}
        if not spec.get("command") or not (spec.get("dockerImage") or spec.get("spaceId")):
            raise HubError(400, "A Job needs a command and a dockerImage or a spaceId")
        spec |= {"secrets": dict.fromkeys(spec.get("secrets") or {})}  # write-only: names come back, never values
        scheduled = {"id": uuid.uuid4().hex[:24], "createdAt": now(), "jobSpec": spec,
                     "schedule": body["schedule"], "suspend": bool(body.get("suspend", False)),
                     "concurrency": bool(body.get("concurrency", False)), "owner": owner,
                     "status": {"lastJob": None, "nextJobRunAt": None}}  # nothing fires here
        self.state.scheduled_jobs[scheduled["id"]] = scheduled
        return Response.of_json(scheduled)

    def _scheduled(self, request: Request, namespace: str, job_id: str) -> dict:
        self._owner(request, namespace)
        scheduled = self.state.scheduled_jobs.get(job_id)
        if scheduled is None or scheduled["owner"]["name"] != namespace:
            raise HubError(404, f"Scheduled Job {job_id} not found")
        return scheduled

    def list_scheduled(self, request: Request, namespace: str) -> Response:
        self._owner(request, namespace)
        labels = request.query.get("label", [])[:1]  # the Hub filters on one label (the client on the rest)
        return Response.of_json([job for job in self.state.scheduled_jobs.values()
                                 if job["owner"]["name"] == namespace and labelled(job["jobSpec"], labels)])

    def delete_scheduled(self, request: Request, namespace: str, job_id: str) -> Response:
        self._scheduled(request, namespace, job_id)
        del self.state.scheduled_jobs[job_id]
        return Response.of_json({})


def labelled(spec: dict, labels: list[str]) -> bool:
    """Whether a job spec carries every `key=value` label asked for."""
    have = spec.get("labels") or {}
    return all(have.get(key) == value for key, _, value in (label.partition("=") for label in labels))
