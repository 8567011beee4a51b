"""Deploy the app to a Hugging Face Space: `python -m digit deploy OWNER/NAME` (`make deploy`).

Through huggingface_hub's upload API, not git: the Hub stores the 15 MB model file with LFS
by itself (a git push of it without LFS is refused). Only what the Space runs is uploaded:
the page, the library, the shipped jury, the requirements and the README whose front
matter configures the Space, and the training code its scheduled retraining Job runs; files
of an earlier deploy that are no longer part of it go.
"""

from __future__ import annotations


from digit.config import PROJECT_DIR
from digit.hub.client import hub_api
from digit.model.check import reference_file

# training/ too: the scheduled retraining Job (digit/hub/jobs.py) takes its code from the Space.
SPACE_FILES = ["app.py", "requirements.txt", "requirements-mnist.txt", "README.md", "digit/*.py", "digit/**/*.py", "digit/page/examples/*",
               "training/*.py", "training/**/*.py", "models/*", "docs/*.png", "docs/*.md"]  # README's pictures and the pages it links to
NEVER = ["**/__pycache__/**", "*.pyc", "**/*.pyi"]


def deploy(space: str, private: bool = False, variables: dict[str, str] | None = None) -> str:
    """Create or update the Space; set its variables; returns the commit's URL."""
    reference_file()  # uploaded with the models: without it the Space's model check refuses every jury
    api = hub_api()
    api.create_repo(space, repo_type="space", space_sdk="gradio", private=private, exist_ok=True)
    commit = api.upload_folder(folder_path=PROJECT_DIR, repo_id=space, repo_type="space",
                               allow_patterns=SPACE_FILES, ignore_patterns=NEVER, delete_patterns=SPACE_FILES,
                               commit_message="Deploy the digit jury")
    for key, value in (variables or {}).items():
        api.add_space_variable(space, key, value)
    return commit.commit_url
