"""Git and worktree operations for tasks, one job per module:

- :mod:`.git`: the git runner (argument lists, scrubbed environment) and repository queries;
- :mod:`.lifecycle`: creating and removing a task's worktree and branch (with their undo), and
  whether a worktree holds unsaved work;
- :mod:`.include`: copying ``.worktreeinclude`` entries into a new worktree;
- :mod:`.inspection`: status, diff and file listings of a worktree for clients (``safe_join``);
- :mod:`.scan`: finding git repositories under a directory (projects quick-add).

The names below are what the rest of the tasks plugin uses.
"""

from .git import GitResult, branch_exists, current_branch, default_branch, git, is_git_repo, repo_root
from .include import copy_worktreeinclude
from .inspection import git_diff, git_status, list_files, safe_join
from .lifecycle import (
    create_worktree,
    list_worktrees,
    prune_worktrees,
    remove_worktree,
    repo_lock,
    unpushed_or_dirty_summary,
    worktree_dirty,
)
from .scan import scan_repos

__all__ = [
    "GitResult", "branch_exists", "copy_worktreeinclude", "create_worktree", "current_branch", "default_branch",
    "git", "git_diff", "git_status", "is_git_repo", "list_files", "list_worktrees", "prune_worktrees",
    "remove_worktree", "repo_lock", "repo_root", "safe_join", "scan_repos", "unpushed_or_dirty_summary",
    "worktree_dirty",
]
