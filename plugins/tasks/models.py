"""The tasks plugin's wire: request bodies, query strings, MCP tool arguments and the Task JSON.

One model per input validates it at the edge (REST routes in ``routes.py``/``routes_orch.py``,
MCP tools in ``tools.py``) and documents it (``/api/openapi.json``, the tools' JSON Schemas).
Rules that need the database (a task exists, a project is a git repository, a rate limit) stay
in the service; these models say only what shape the input has.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from .store import STATUSES

Status = Literal["pending", "in_progress", "in_review", "complete", "limit"]
ManualStatus = Literal["pending", "in_progress", "in_review", "complete"]  # what a client may set
StatusFilter = Literal["pending", "in_progress", "in_review", "complete", "limit", "idle"]
Archived = Literal["0", "1", "all"]
MessageKind = Literal["note", "question", "answer"]
MessageId = int | str  # ids are integers; REST clients may send them as decimal strings

assert set(STATUSES) == set(Status.__args__)  # type: ignore[attr-defined]


class Wire(BaseModel):
    """Base of every input model: unknown keys are ignored (older and newer clients keep working)."""

    model_config = ConfigDict(extra="ignore", defer_build=True)


class Out(BaseModel):
    """Base of every response model: a producer may add keys (plugins' task fields)."""

    model_config = ConfigDict(extra="allow", defer_build=True)


# -- the Task JSON (docs/rest.md) ---------------------------------------------------------------


class UsageTotals(Out):
    """Tokens and cost an agent CLI reported for a task (the ops plugin records them; nothing estimated)."""

    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    cost_usd: float | None = Field(None, description="null when the CLI reported no cost")
    source: str = Field("", description="where it was read: claude transcript, codex rollout")


class Task(Out):
    """A task as every client sees it. Plugins add namespaced keys (``hera: {...}``) through the
    ``argus_task_fields`` hook and declare their models with ``argus_task_field_models`` (listed in
    this schema in ``/api/openapi.json``); clients read only declared fields."""

    id: str
    name: str
    slug: str
    project: str
    backend: str
    model: str
    prompt: str
    status: Status
    display_status: Status = Field(description="in_review while the agent is idle, else status")
    archived: bool
    pinned: bool
    idle: bool
    worktree_path: str
    branch: str
    base_branch: str
    session_id: str | None
    agent_session_id: str | None
    running: bool
    pid: int | None
    exit_code: int | None
    plan_slug: str
    result: Any = Field(description="the opaque JSON result an agent stored with task_set_result")
    parent_ids: list[str] = Field(default_factory=list, description="tasks this one depends on")
    parent_id: str | None = Field(None, description="the task that created this one through a plugin (a coordinator)")
    hidden: bool = Field(False, description="kept out of the UIs' main lists (e.g. a coordinator's workers)")
    limit_resets_at: str | None = Field(None, description="status limit: when the agent's usage limit resets "
                                                          "(RFC3339 UTC); null without a planned resume")
    limit_resume_at: str | None = Field(None, description="status limit: when Argus types the continue message "
                                                          "(the reset plus the margin); null without a plan")
    extra: dict[str, Any] = Field(default_factory=dict, description="plugin fields given at creation")
    usage: UsageTotals | None = Field(None, description="tokens and cost the agent CLI reported; absent when unknown")
    conflicts_with: list[str] = Field(
        default_factory=list,
        description="ids of other live tasks of the project whose changed files overlap this one's")
    created_at: str
    started_at: str | None
    ended_at: str | None
    updated_at: str


class TaskReply(Out):
    """``{"task": Task}``."""

    task: Task


class TaskListReply(Out):
    """``{"tasks": [Task]}``."""

    tasks: list[Task]


class ForkReply(Out):
    """A forked task and the id of its source."""

    task: Task
    source_id: str


class OkReply(Out):
    """``{"ok": true}``."""

    ok: bool


class Project(Out):
    """A project: a git repository tasks are created in."""

    name: str
    path: str
    branch: str
    backend: str


class ProjectNames(Out):
    """``{"projects": [name]}``."""

    projects: list[str]


class ProjectList(Out):
    """``{"projects": [Project]}`` with each project's effective default backend."""

    projects: list[Project]


class ProjectReply(Out):
    """``{"project": Project}``."""

    project: Project


class Backend(Out):
    """An agent CLI: the command, how the prompt is passed, the default model."""

    name: str
    command: str
    prompt_flag: str
    model: str
    kind: str = Field("", description="the agent CLI family: claude, codex, opencode, pi, demo, generic "
                                       "or a kind a plugin provides")


class BackendList(Out):
    """``{"backends": [Backend], "default": name}``."""

    backends: list[Backend]
    default: str | None


class BackendReply(Out):
    """``{"backend": Backend}``."""

    backend: Backend


class SizeReply(Out):
    """The session's terminal size (null when the task has no session)."""

    cols: int | None
    rows: int | None


class InputReply(Out):
    """How many bytes reached the agent."""

    ok: bool
    bytes: int


class Edge(Out):
    """A dependency: ``child_id`` waits for ``parent_id``."""

    child_id: str
    parent_id: str


class DagReply(Out):
    """Every task (as nodes) and dependency edge."""

    nodes: list[Task]
    edges: list[Edge]


class EdgeLinked(Edge):
    """``POST /api/tasks/{id}/deps``: the edge, and whether it is new (201) or was there (200)."""

    created: bool


class EdgeUnlinked(Edge):
    """``DELETE /api/tasks/{id}/deps/{parent_id}``: the edge, and whether it existed."""

    deleted: bool


class DepsReply(Out):
    """One-hop upstream (what the task waits for) and downstream (what waits for it) tasks."""

    task_id: str
    upstream: list[Task]
    downstream: list[Task]


class HaltReply(Out):
    """``POST /api/tasks/{id}/halt-downstream``: the descendants stopped and archived."""

    task_id: str
    halted: list[str]


class StoppedReply(Out):
    """``POST /api/sessions/stop-all``: the tasks whose agents were stopped."""

    stopped: list[str]


class PruneSkip(Out):
    """A completed task left alone, and why."""

    id: str
    reason: str


class PruneReply(Out):
    """``POST /api/maintenance/prune-completed``: tasks deleted and tasks skipped."""

    deleted: list[str]
    skipped: list[PruneSkip]


class UploadReply(Out):
    """``POST /api/tasks/{id}/upload``: where the files landed, relative to the worktree."""

    paths: list[str]


class ScannedRepo(Out):
    """A git repository found by a scan."""

    name: str
    path: str
    branch: str = Field(description="origin/HEAD's branch or the checked-out one (\"\" when detached)")
    registered: bool = Field(description="whether a project already uses this path")


class ScanReply(Out):
    """``POST /api/projects/scan``."""

    repos: list[ScannedRepo]


class Link(Out):
    """A URL found in the agent's output."""

    label: str
    url: str


class LinksReply(Out):
    """``GET /api/tasks/{id}/links``: newest first, de-duplicated."""

    links: list[Link]


class ResizeReply(Out):
    """``POST /api/tasks/{id}/resize``: the new size, and whether the agent was re-rendered at it."""

    cols: int
    rows: int
    rerendered: bool


class ChangedFile(Out):
    """A changed file of the worktree: ``status`` is the porcelain XY code, trimmed (``M``, ``??``...)."""

    path: str
    status: str


class GitStatusReply(Out):
    """``GET /api/tasks/{id}/git/status``."""

    branch: str
    base_branch: str
    status: str = Field(description="git status --porcelain text")
    files: list[ChangedFile]
    diff_stat: str
    ahead: int = Field(description="commits on the branch not on the base")


class GitDiffReply(Out):
    """``GET /api/tasks/{id}/git/diff``: one file's diff (``path``) or the whole worktree's (null)."""

    path: str | None
    diff: str
    truncated: bool


class FileEntry(Out):
    """One entry of a worktree directory (``size`` null for directories)."""

    name: str
    path: str
    type: Literal["file", "dir"]
    size: int | None


class FilesReply(Out):
    """``GET /api/tasks/{id}/files``: one directory, directories first."""

    dir: str
    entries: list[FileEntry]


class MergeCommit(Out):
    """A commit of the task's branch the base lacks."""

    sha: str
    subject: str = ""


class Overlap(Out):
    """Another live task of the project changing some of the same files."""

    id: str
    name: str
    files: list[str]


class MergePreview(Out):
    """``GET /api/tasks/{id}/merge``: commits ahead/behind, conflicts, what blocks each action."""

    base: str
    branch: str
    ahead: int
    behind: int
    commits: list[MergeCommit]
    conflicts: list[str]
    fast_forward: bool
    base_worktree: str | None
    base_dirty: bool
    worktree_dirty: bool
    gh: bool = Field(description="whether the gh CLI is installed (pull requests)")
    overlaps: list[Overlap]


class MergeResult(Out):
    """``POST /api/tasks/{id}/merge``: what the action did, then the new preview."""

    action: Literal["rebase", "merge", "pr"]
    head: str | None = Field(None, description="rebase, merge: the new head")
    fast_forward: bool | None = Field(None, description="merge: whether it was a fast-forward")
    pushed: bool | None = Field(None, description="pr: whether the branch was pushed")
    pr_url: str | None = Field(None, description="pr: the pull request (null without gh)")
    note: str | None = None
    merge: MergePreview


class TaskMessage(Out):
    """A message between tasks."""

    id: int
    from_id: str | None
    from_name: str
    to_id: str
    to_name: str
    kind: MessageKind
    in_reply_to: int | None
    created_at: str
    read: bool
    read_at: str | None
    delivered_at: str | None
    body: str


class InboxReply(Out):
    """``GET /api/tasks/{id}/inbox``: messages to the task, oldest first."""

    task_id: str
    messages: list[TaskMessage]
    unread: int


class AckReply(Out):
    """``POST /api/tasks/{id}/inbox/ack``."""

    acked: int
    unread: int


class MessageReply(Out):
    """``POST /api/tasks/{id}/messages``."""

    message: TaskMessage


class ClipboardText(Out):
    """The staged clipboard text, who staged it and until when."""

    text: str
    task_id: str | None
    expires_at: str


class Artifact(Out):
    """A file the task's agent registered."""

    name: str
    title: str
    type: str
    size: int
    created_at: str


class ArtifactList(Out):
    """``GET /api/tasks/{id}/artifacts``."""

    artifacts: list[Artifact]


class Skill(Out):
    """A skill for autocomplete."""

    name: str
    description: str
    source: str
    plugin: str | None = None


class SkillList(Out):
    """``GET /api/skills``."""

    skills: list[Skill]


# -- REST inputs --------------------------------------------------------------------------------


class PassThrough(Wire):
    """An input whose unknown keys reach the service (other plugins may add project settings)."""

    model_config = ConfigDict(extra="allow")


class SandboxIn(Wire):
    """A project's sandbox overrides (null = the global default)."""

    model_config = ConfigDict(extra="allow")  # the sandbox plugin's own keys pass through

    enabled: bool | None = None
    deny_read: list[str] = Field(default_factory=list)
    extra_write: list[str] = Field(default_factory=list)
    allow_apple_events: list[str] = Field(default_factory=list, description="macOS AppleEvent bundle ids")
    network: bool | None = Field(None, description="false: no network for sandboxed agents (null = global)")


class ProjectCreate(PassThrough):
    """``POST /api/projects``."""

    name: str
    path: str
    branch: str | None = Field(None, description="base branch for new tasks (default: the repo's default)")
    backend: str | None = Field(None, description="default backend for this project's tasks")
    sandbox: SandboxIn | None = None


class ProjectUpdate(PassThrough):
    """``PUT /api/projects/{name}``: only the keys given change."""

    path: str | None = None
    branch: str | None = None
    backend: str | None = None
    sandbox: SandboxIn | None = None


class ScanBody(Wire):
    """``POST /api/projects/scan``: look for git repositories under ``dir``."""

    dir: str


class BackendCreate(PassThrough):
    """``POST /api/backends``."""

    name: str
    command: str | None = None
    prompt_flag: str | None = None
    model: str | None = None
    kind: str | None = Field(None, description="an agent kind a plugin provides ('' to follow the command)")


class BackendUpdate(PassThrough):
    """``PUT /api/backends/{name}``: only the keys given change."""

    command: str | None = None
    prompt_flag: str | None = None
    model: str | None = None
    kind: str | None = Field(None, description="an agent kind a plugin provides ('' to follow the command)")


class TaskListQuery(Wire):
    """``GET /api/tasks`` filters."""

    archived: Archived = "0"
    status: StatusFilter | None = None
    project: str | None = None
    hidden: bool | None = Field(None, description="only hidden (true) or only visible (false) tasks; "
                                                "absent: every task (the UIs filter on the task's hidden)")


class TaskCreate(Wire):
    """``POST /api/tasks`` (JSON, or multipart/form-data with ``files`` parts)."""

    name: str | None = None
    prompt: str | None = None
    project: str
    backend: str | None = None
    model: str | None = Field(None, description="--model override for the agent CLI")
    base_branch: str | None = None
    plan_slug: str | None = None
    depends_on: list[str] | None = Field(None, description="task ids; the task starts when all complete")

    @field_validator("depends_on", mode="before")
    @classmethod
    def _one_id(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value  # a single multipart field


class DeleteQuery(Wire):
    """``DELETE /api/tasks/{id}``: ``force`` discards a dirty worktree."""

    force: bool = False


class RenameBody(Wire):
    """``POST /api/tasks/{id}/rename``."""

    name: str


class PinBody(Wire):
    """``POST /api/tasks/{id}/pin``: omit ``pinned`` to toggle."""

    pinned: bool | None = None


class StatusBody(Wire):
    """``POST /api/tasks/{id}/status`` (``limit`` is set only by usage-limit detection)."""

    status: ManualStatus


class MergeBody(Wire):
    """``POST /api/tasks/{id}/merge``: rebase onto the base, merge into it, or push and open a PR."""

    action: Literal["rebase", "merge", "pr"]
    title: str | None = Field(None, description="pr: the title (default: the task's name)")
    body: str | None = Field(None, description="pr: the description (default: the task's prompt)")
    remote: str = Field("origin", description="pr: the remote to push to")


class OutputQuery(Wire):
    """``GET /api/tasks/{id}/output``: the last ``bytes`` of output (at most 4 MiB)."""

    bytes: int = Field(64 * 1024, ge=0)
    clean: bool = Field(False, description="strip ANSI escapes")


class InputBody(Wire):
    """``POST /api/tasks/{id}/input`` as JSON; any other content type is sent as raw bytes."""

    data: str | None = Field(None, description="text to type")
    b64: str | None = Field(None, description="base64 bytes to type")


class ResizeBody(Wire):
    """``POST /api/tasks/{id}/resize``."""

    cols: int = Field(ge=10, le=1000)
    rows: int = Field(ge=4, le=500)


class StreamQuery(Wire):
    """``GET /api/tasks/{id}/stream``: resume from a byte offset of one session."""

    since: int | None = Field(None, ge=0, description="byte offset (default: the last 64 KiB)")
    session: str | None = Field(None, description="the session the offset belongs to")
    encoding: Literal["base64", "text"] = Field(
        "base64", description="how output travels: base64 `data` always, or `text` (a JSON string) for "
                              "UTF-8 output with base64 `data` only for bytes that are not UTF-8")


class DiffQuery(Wire):
    """``GET /api/tasks/{id}/git/diff``."""

    path: str | None = None


class FilesQuery(Wire):
    """``GET /api/tasks/{id}/files``."""

    dir: str = ""


class AgentHookBody(Out):
    """``POST /api/agent/hook`` from an agent CLI's own hooks (checked by the service)."""

    task_id: Any = None
    event: Any = None


class DagQuery(Wire):
    """``GET /api/dag``."""

    archived: Archived = "0"


class LinkBody(Wire):
    """``POST /api/tasks/{id}/deps``: the task starts after ``parent_id`` completes."""

    parent_id: str


class PlanSlugBody(Wire):
    """``POST /api/tasks/{id}/plan-slug``: empty or null clears it."""

    plan_slug: str | None = None


class InboxQuery(Wire):
    """``GET /api/tasks/{id}/inbox``."""

    unread_only: bool = True
    sender: str | None = None
    since: str | None = Field(None, description="RFC3339 timestamp")
    limit: int | None = None


class AckBody(Wire):
    """``POST /api/tasks/{id}/inbox/ack``."""

    message_ids: list[MessageId]


class MessageBody(Wire):
    """``POST /api/tasks/{id}/messages``: ``{id}`` is the sender."""

    to: str
    body: str
    kind: MessageKind | None = None
    in_reply_to: MessageId | None = None


class ForkBody(Wire):
    """``POST /api/tasks/{id}/fork``."""

    name: str | None = None
    prompt: str | None = None
    project: str | None = None


class SkillsQuery(Wire):
    """``GET /api/skills``."""

    project: str | None = None
    filter: str = ""


# -- MCP tool arguments -------------------------------------------------------------------------

ID_HELP = "Task id (e.g. t_8f3a2c). Alternative to cwd."
CWD_HELP = ("Your working directory (output of pwd); resolves to the task whose worktree contains it. "
            "Alternative to id.")


class Caller(Wire):
    """Which task: ``id``, or ``cwd`` (the agent's working directory)."""

    id: str | None = Field(None, description=ID_HELP)
    cwd: str | None = Field(None, description=CWD_HELP)

    def who(self) -> dict[str, Any]:
        """The ``{id, cwd}`` dict ``caller.resolve`` takes."""
        return {"id": self.id, "cwd": self.cwd}


class MergeArgs(Caller):
    """``task_merge``: without ``action`` only the preview."""

    action: Literal["preview", "rebase", "merge", "pr"] = "preview"
    title: str | None = None
    body: str | None = None
    remote: str = "origin"


class TaskCreateArgs(Caller):
    """``task_create``."""

    name: str | None = None
    prompt: str | None = None
    project: str | None = None
    model: str | None = None
    backend: str | None = None
    base_branch: str | None = None
    depends_on: list[str] | None = None
    plan_slug: str | None = None
    upsert: bool = False


class TaskListArgs(Wire):
    """``task_list``."""

    status: StatusFilter | None = None
    project: str | None = None
    plan_slug: str | None = None
    archived: bool | Literal["all"] | None = False


class ArchiveArgs(Caller):
    """``task_archive``: omit ``archived`` to toggle."""

    archived: bool | None = None


class RenameArgs(Caller):
    """``task_rename``."""

    name: str


class ForkArgs(Caller):
    """``task_fork``."""

    name: str | None = None
    prompt: str | None = None
    project: str | None = None


class PlanSlugArgs(Caller):
    """``task_set_plan_slug``."""

    plan_slug: str


class ResultArgs(Caller):
    """``task_set_result``: any JSON value (null clears)."""

    result: Any = Field(description="any JSON value, at most 64 KiB serialized")


class EdgeArgs(Wire):
    """``task_link`` / ``task_unlink``."""

    child_id: str = Field(description="The task that depends on parent_id")
    parent_id: str = Field(description="The task that must complete first")


class MessageSendArgs(Caller):
    """``task_message_send``."""

    to: str
    body: str
    kind: MessageKind | None = None
    in_reply_to: int | None = None


class InboxArgs(Caller):
    """``task_inbox``."""

    unread_only: bool = True
    sender: str | None = None
    since: str | None = None
    limit: int | None = Field(None, ge=1, le=500)


class AckArgs(Caller):
    """``task_message_ack``."""

    message_ids: list[int] = Field(max_length=500)


class AskArgs(Caller):
    """``task_ask``."""

    to: str
    body: str
    timeout_seconds: float = Field(0, ge=0, le=120)


class ClipboardArgs(Caller):
    """``argus_clipboard_set``."""

    text: str


class ArtifactArgs(Caller):
    """``artifact_register``."""

    path: str
    title: str | None = None
    type: str | None = None


# -- review in place (review.py) ----------------------------------------------------------------


class ReviewCommentBody(Wire):
    """``POST /api/tasks/{id}/review/comments``: a draft comment on lines of a changed file."""

    path: str = Field(min_length=1, max_length=4096, description="file path relative to the worktree")
    line: int = Field(ge=1, description="first line (1-based, in the worktree's current file)")
    end_line: int | None = Field(None, ge=1, description="last line of a range (default: line)")
    body: str = Field(min_length=1, description="the comment")
    quote: str | None = Field(None, description="the quoted lines (default: read from the worktree; "
                                                "pass it for removed lines)")


class ReviewCommentEdit(Wire):
    """``PUT /api/tasks/{id}/review/comments/{cid}``: the new text of a draft comment."""

    body: str = Field(min_length=1, description="the comment")


class ReviewComment(Out):
    """A review comment (``review_id`` is null while it is a draft)."""

    id: int
    task_id: str
    review_id: int | None
    path: str
    line: int
    end_line: int
    quote: str
    body: str
    created_at: str


class ReviewCommentReply(Out):
    """``{"comment": ReviewComment}``."""

    comment: ReviewComment


class ReviewCommentList(Out):
    """``{"comments": [ReviewComment]}``: the draft review."""

    comments: list[ReviewComment]


class ReviewSendBody(Wire):
    """``POST /api/tasks/{id}/review``: send the draft (optionally with an overall summary)."""

    summary: str = Field("", description="an overall note typed before the comments")


class Review(Out):
    """A sent review: the message typed into the agent and its comments."""

    id: int
    task_id: str
    summary: str
    message: str
    created_at: str
    delivered_at: str | None
    delivered: bool
    comments: list[ReviewComment]


class ReviewReply(Out):
    """``{"review": Review}``."""

    review: Review


class ReviewList(Out):
    """``{"reviews": [Review]}``: the task's review history, newest first."""

    reviews: list[Review]


class ReviewCommentArgs(Wire):
    """One comment of ``task_review``."""

    path: str
    line: int = Field(ge=1)
    end_line: int | None = Field(None, ge=1)
    body: str = Field(min_length=1)
    quote: str | None = None


class TaskReviewArgs(Caller):
    """``task_review``: add comments to the draft and/or send it."""

    comments: list[ReviewCommentArgs] = Field(default_factory=list, max_length=200)
    summary: str = ""
    send: bool = Field(True, description="send the draft review now (false: only add the comments)")


# -- Claude session picker (claude_sessions.py) ------------------------------------------------


class ClaudeSession(Out):
    """One Claude Code conversation of a task's worktree."""

    id: str
    title: str = Field(description="the first user prompt (or Claude's summary), one line")
    size: int
    modified_at: str
    current: bool = Field(description="the conversation the task resumes now")


class ClaudeSessionList(Out):
    """``{"sessions": [ClaudeSession]}``, most recently used first."""

    sessions: list[ClaudeSession]


class ClaudeSessionResume(Wire):
    """``POST /api/tasks/{id}/claude-sessions/resume``."""

    session_id: str = Field(min_length=1, max_length=128)


# -- create-time options plugins offer (options.py) ---------------------------------------------


class TaskOptionInfo(Out):
    """One create-time option (``argus_task_options``) and whether it can be used now."""

    name: str = Field(description="the key in POST /api/tasks and task_create")
    title: str
    description: str
    type: Literal["bool", "int", "string"]
    default: Any
    available: bool = Field(description="false: asking for it is refused now (the forms hide it)")
    reason: str | None = Field(description="why it is unavailable")


class TaskOptionList(Out):
    """``{"options": [TaskOptionInfo]}``."""

    options: list[TaskOptionInfo]
