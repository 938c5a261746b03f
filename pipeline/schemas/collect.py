"""Tables of the collect stage."""

from __future__ import annotations

from .base import C, Table, register

# Written under data/interim/collect/<name without the collect_ prefix>.csv; step 7
# (`mldock collect extract`) then writes the shared interim repos/files/funnel tables.

COLLECT_KEYWORDS = register(
    Table(
        name="collect_keywords",
        location="interim",
        stage="collect",
        description="Topics co-occurring with the seed topics among the most-starred repositories (keyword proposal)",
        key=("keyword",),
        columns=(
            C("keyword", "str", "A GitHub topic", False),
            C("count", "int", "Repositories returned by the seed searches that carry the topic", False),
            C("seeds", "str", "Comma-separated seed topics whose search returned it", False),
            C("proposed", "bool", "True if among the most frequent topics proposed as keywords", False),
            C("in_paper", "bool", "True if the topic is among the paper's 14 keywords", False),
            C("in_data", "bool", "True if the topic is among the 27 keywords found in the study's data", False),
        ),
    )
)

COLLECT_SLICES = register(
    Table(
        name="collect_slices",
        location="interim",
        stage="collect",
        description="Each completed search slice (keyword, creation-date range, star range) and what it returned",
        key=("query",),
        columns=(
            C("keyword", "str", "Search keyword", False),
            C("query", "str", "The exact search query of the slice", False),
            C("created_from", "date", "First creation date of the slice", False),
            C("created_to", "date", "Last creation date of the slice", False),
            C("stars_from", "int", "Lowest star count of the slice, when split by stars"),
            C("stars_to", "int", "Highest star count of the slice, when split by stars"),
            C("total_count", "int", "total_count GitHub reported for the slice", False),
            C("items", "int", "Items received over all pages of the slice", False),
            C("pages", "int", "Pages requested", False),
            C("incomplete_results", "bool", "GitHub flagged the results as incomplete (search timeout)", False),
            C("complete", "bool", "False if the slice still had more than 1,000 results and could not be split", False),
        ),
    )
)

COLLECT_CANDIDATES = register(
    Table(
        name="collect_candidates",
        location="interim",
        stage="collect",
        description="Unique repositories returned by the keyword search (forks excluded)",
        key=("repo",),
        columns=(
            C("repo", "str", "Repository full name, owner/name", False),
            C("search_topic", "str", "First keyword (in search order) that found the repository", False),
            C("keywords", "json", "All keywords that found it (JSON list)", False),
            C("created_at", "date", "Creation date from the search item"),
            C("stars", "int", "Stargazers count from the search item"),
            C("forks", "int", "Forks count from the search item"),
        ),
    )
)

COLLECT_METADATA = register(
    Table(
        name="collect_metadata",
        location="interim",
        stage="collect",
        description="Metadata of each candidate repository, pinned to its default branch's head commit, and the inclusion verdict",
        key=("repo",),
        columns=(
            C("repo", "str", "Repository full name, owner/name", False),
            C("search_topic", "str", "First keyword that found the repository", False),
            C("commits", "int", "Commits reachable from the default branch head"),
            C("contributors", "int", "Contributors, anonymous included"),
            C("issues", "int", "Issues (GraphQL totalCount; empty in anonymous REST mode)"),
            C("pulls", "int", "Pull requests (GraphQL totalCount; empty in anonymous REST mode)"),
            C("releases", "int", "Releases"),
            C("size_kb", "int", "Repository size in KB"),
            C("stars", "int", "Stargazers"),
            C("forks", "int", "Forks"),
            C("open_issues", "int", "Open issues and pull requests (search item)"),
            C("archived", "bool", "Archived"),
            C("created_at", "date", "Creation date"),
            C("pushed_at", "date", "Last push date"),
            C("language", "str", "Primary language"),
            C("homepage", "str", "Homepage URL"),
            C("description", "str", "Description"),
            C("topics", "json", "Topics (JSON list)"),
            C("default_branch", "str", "Default branch name"),
            C("head_sha", "str", "Head commit SHA of the default branch: every file is read at this commit"),
            C("included", "bool", "True if the repository passes every inclusion criterion", False),
            C("excluded_by", "str", "Id of the first criterion that removed it, empty when included"),
        ),
    )
)

COLLECT_FILES = register(
    Table(
        name="collect_files",
        location="interim",
        stage="collect",
        description="Docker-file candidates (by name) of the included repositories, read at the pinned commit and classified by content",
        key=("repo", "path"),
        columns=(
            C("repo", "str", "Repository full name, owner/name", False),
            C("path", "str", "Path relative to the repository root", False),
            C("head_sha", "str", "Commit the tree was listed at", False),
            C("blob_sha", "str", "Git blob SHA (verified against the downloaded bytes)", False),
            C("size", "int", "File size in bytes", False),
            C("sha256", "str", "SHA-256 of the file bytes", False),
            C("name_match", "str", "Why the name made it a candidate: dockerfile, compose or orchestration (taxonomy/orchestration.yaml)", False),
            C("kind", "str", "Kind decided by content: dockerfile, compose, not_dockerfile", False),
            C("reason", "str", "Why the kind was chosen", False),
        ),
    )
)

COLLECT_HUB_MATCHES = register(
    Table(
        name="collect_hub_matches",
        location="interim",
        stage="collect",
        description="Docker Hub images examined for each repository, with the evidence, a score and the verdict",
        key=("repo", "image"),
        columns=(
            C("repo", "str", "Repository full name, owner/name", False),
            C("image", "str", "Docker Hub image reference, namespace/name:latest", False),
            C("score", "float", "Sum of evidence weights (name 0.2, namespace 0.2, link 0.6, dockerfile 0.6), at most 1", False),
            C("evidence", "str", "Comma-separated evidence: name, namespace, link, dockerfile"),
            C("confirmed", "bool", "True if the description links to the repository or the Dockerfile matches", False),
        ),
    )
)

COLLECT_REQUESTS = register(
    Table(
        name="collect_requests",
        location="interim",
        stage="collect",
        description="HTTP requests per collection step in the last run of that step",
        key=("step",),
        columns=(
            C("step", "str", "Collection step", False),
            C("requests", "int", "Requests sent over the network (retries included)", False),
            C("cache_hits", "int", "Requests answered from the on-disk cache", False),
            C("retries", "int", "Requests repeated after a rate limit, 5xx, reset or truncated body", False),
            C("items", "int", "Items the step processed (keywords, candidates, repositories)", False),
            C("per_item", "float", "Logical requests per item: network requests minus retries, plus cache hits", False),
        ),
    )
)
