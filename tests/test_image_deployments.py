"""The digest prod runs never expires: deploy records (deployed-* tags) and the lifecycle policy.

The policy is the program's (registry.lifecycle_policy), the record is the deploy workflow's own
code (tools/image_deploys.py, airflow_eks/image/deployments.py), and both run against
tests/ecr_model.py, a model of ECR's documented lifecycle and tag semantics, itself checked here
against the examples of ECR's user guide. The deploy workflow's steps are checked in
tests/test_workflows.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from airflow_eks.image import deployments, registry
from tests import ecr_model
from tests.ecr_model import EcrError, FakeEcr, Image, Repository
from tools import image_deploys

ROOT = Path(__file__).resolve().parent.parent
REPOSITORY = "prod/airflow"
KEEP = 10  # imageRegistryKeepImages' default
BOTH_READINGS = pytest.mark.parametrize("counted", [True, False], ids=["lower-rules-count", "lower-rules-skip"])


def digest(n: int) -> str:
    return f"sha256:{n:064x}"


# --- the model against the examples of ECR's user guide ("Examples of lifecycle policies") ---------
def _rule(priority: int, prefixes: list[str], count_type: str, number: int) -> dict:
    selection = {"tagStatus": "tagged", "tagPrefixList": prefixes, "countType": count_type, "countNumber": number}
    if count_type == "sinceImagePushed":
        selection["countUnit"] = "days"
    return {"rulePriority": priority, "selection": selection, "action": {"type": "expire"}}


def _images(*specs: tuple[str, list[str], int], now: float = 100) -> list[Image]:
    """(name, tags, pushed n days ago) -> images whose digest is their name."""
    return [Image(name, "", pushed_at=now - days, tags=set(tags)) for name, tags, days in specs]


GUIDE_REPOSITORY = (("A", ["beta-1", "prod-1"], 10), ("B", ["beta-2", "prod-2"], 9), ("C", ["beta-3"], 8))


@BOTH_READINGS
def test_the_model_reproduces_the_guides_multiple_rule_examples(counted):
    # Example A: prod first keeps B and expires A; beta would expire A and B, but B matched prod.
    policy = {"rules": [_rule(1, ["prod"], "imageCountMoreThan", 1), _rule(2, ["beta"], "imageCountMoreThan", 1)]}
    assert ecr_model.expired(policy, _images(*GUIDE_REPOSITORY), 100, lower_rules_count_matched=counted) == {"A"}
    # Example B: the same rules in the other order expire A and B.
    policy = {"rules": [_rule(1, ["beta"], "imageCountMoreThan", 1), _rule(2, ["prod"], "imageCountMoreThan", 1)]}
    assert ecr_model.expired(policy, _images(*GUIDE_REPOSITORY), 100, lower_rules_count_matched=counted) == {"A", "B"}


def test_the_model_reproduces_the_guides_multiple_tag_examples():
    # Example A: a rule with two prefixes selects images that have both; C is older than 5 days.
    repository = _images(("A", ["alpha-1"], 12), ("B", ["beta-1"], 11), ("C", ["alpha-2", "beta-2"], 10),
                         ("D", ["alpha-3"], 4), ("E", ["beta-3"], 3), ("F", ["alpha-4", "beta-4"], 2))
    policy = {"rules": [_rule(1, ["alpha", "beta"], "sinceImagePushed", 5)]}
    assert ecr_model.expired(policy, repository, 100) == {"C"}
    # Example B: tags are not exclusive; the newest of the three stays.
    repository = _images(("A", ["alpha-1", "beta-1", "gamma-1"], 10), ("B", ["alpha-2", "beta-2"], 9),
                         ("C", ["alpha-3", "beta-3", "gamma-2"], 8))
    policy = {"rules": [_rule(1, ["alpha", "beta"], "imageCountMoreThan", 1)]}
    assert ecr_model.expired(policy, repository, 100) == {"A", "B"}


def test_the_model_keeps_tags_as_ecr_does():
    repo = Repository(REPOSITORY, mutability="IMMUTABLE_WITH_EXCLUSION",
                      exclusion_filters=registry.mutable_tag_filters())
    first = repo.push_new("3.1.8-aaaaaaaaaaaa")
    repo.now = 5
    second = repo.push_new("3.1.8-bbbbbbbbbbbb")
    with pytest.raises(EcrError, match="ImageTagAlreadyExists"):  # a build tag names one image for good
        repo.put(repo.images[second].manifest, "3.1.8-aaaaaaaaaaaa")
    repo.put(repo.images[first].manifest, "deployed-1")
    repo.put(repo.images[second].manifest, "deployed-1")  # a deploy record moves
    assert repo.holder("deployed-1").digest == second and repo.images[first].tags == {"3.1.8-aaaaaaaaaaaa"}
    assert repo.images[first].pushed_at == 0  # a new tag keeps the push time
    with pytest.raises(EcrError, match="ImageAlreadyExists"):
        repo.put(repo.images[second].manifest, "deployed-1")
    with pytest.raises(EcrError, match="ImageDigestDoesNotMatch"):
        repo.put(repo.images[second].manifest, "deployed-2", first)


# --- the policy's shape -------------------------------------------------------------------------------
def test_only_the_deploy_records_are_mutable_and_the_workflows_tags_never_look_like_them():
    [exclusion] = registry.mutable_tag_filters()
    # ImageTagMutabilityExclusionFilter: ^[0-9a-zA-Z._*-]{1,128}$, WILDCARD, at most two `*`.
    assert exclusion["filterType"] == "WILDCARD" and exclusion["filter"].count("*") <= 2
    assert all(c.isalnum() or c in "._*-" for c in exclusion["filter"]) and len(exclusion["filter"]) <= 128
    repo = Repository(REPOSITORY, mutability="IMMUTABLE_WITH_EXCLUSION", exclusion_filters=[exclusion])
    assert all(repo.tag_mutable(t) for t in deployments.TAGS)
    # The image workflow tags `<airflowVersion>-<12 hex of image/'s tree>`: a version starts with a digit.
    for build_tag in ("3.1.8-0123456789ab", "3.2.0rc1-abcdefabcdef", "latest", "deployed"):
        assert not repo.tag_mutable(build_tag), build_tag
    # ECR image tags: 1 to 300 characters; Docker's grammar [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}.
    assert all(len(t) <= 128 and t[0].isalnum() for t in deployments.TAGS)


def test_the_protecting_rule_outnumbers_the_records_and_outranks_the_count_rule():
    rules = {r["rulePriority"]: r for r in registry.lifecycle_policy(KEEP)["rules"]}
    protect, count = rules[2]["selection"], rules[3]["selection"]
    assert protect["tagPatternList"] == [deployments.TAG_PATTERN]
    assert protect["countType"] == "imageCountMoreThan" and protect["countNumber"] >= len(deployments.TAGS)
    assert all(ecr_model.wildcard(deployments.TAG_PATTERN).fullmatch(t) for t in deployments.TAGS)
    assert count["tagPatternList"] == ["*"] and count["countNumber"] == KEEP


# --- the record: which tags move, in which order ------------------------------------------------------
def _apply(slots: dict[str, str], moves: list[tuple[str, str]]) -> list[set[str]]:
    """The digests carrying a deploy record after each move."""
    states = []
    for tag, target in moves:
        slots[tag] = target
        states.append(set(slots.values()))
    return states


@given(st.dictionaries(st.sampled_from(deployments.TAGS), st.integers(1, 5).map(digest)), st.integers(1, 6).map(digest))
def test_a_record_ends_with_the_deploy_first_and_never_unprotects_a_kept_digest(before, deployed):
    moves = deployments.record(before, deployed)
    if before.get(deployments.slot_tag(1)) == deployed:
        assert moves == []  # re-deploying the latest recorded digest moves nothing
        return
    slots = dict(before)
    states = _apply(slots, moves)
    assert slots[deployments.slot_tag(1)] == deployed
    # The register shifted by one: slot i holds what slot i-1 held.
    for position in range(2, deployments.HISTORY + 1):
        previous = before.get(deployments.slot_tag(position - 1))
        assert slots.get(deployments.slot_tag(position)) == (previous or before.get(deployments.slot_tag(position)))
    # The deployed digest is protected from the first move on; every digest the register keeps
    # (slots 1 to HISTORY-1 before the record) keeps a record through every move.
    kept = {before[t] for t in deployments.SLOT_TAGS[:-1] if t in before}
    assert before.get(deployments.NEXT_TAG) == deployed or moves[0] == (deployments.NEXT_TAG, deployed)
    for state in states:
        assert deployed in state and kept <= state


def test_the_record_writes_only_the_deploy_tags_so_the_protecting_rule_never_fills():
    seen: set[str] = set()
    slots: dict[str, str] = {}
    for n in [1, 2, 1, 3, 3, 4, 2, 5, 6, 1]:
        moves = deployments.record(slots, digest(n))
        seen |= {tag for tag, _ in moves}
        _apply(slots, moves)
    assert seen == set(deployments.TAGS)


# --- the property: nothing a deploy needs ever expires ------------------------------------------------
def _prod_repository(policy: dict) -> Repository:
    return Repository(REPOSITORY, mutability="IMMUTABLE_WITH_EXCLUSION",
                      exclusion_filters=registry.mutable_tag_filters(), lifecycle_policy=policy)


EVENTS = st.lists(st.one_of(
    st.tuples(st.just("push"), st.integers(1, 15)),        # that many builds pushed
    st.tuples(st.just("deploy"), st.integers(0, 30)),      # deploy the n-th newest image (0: newest), modulo
    st.tuples(st.just("rollback"), st.integers(1, 5)),     # deploy the n-th previous recorded deploy, modulo
    st.tuples(st.just("wait"), st.integers(1, 400)),       # days pass; ECR evaluates the policy
), min_size=1, max_size=40)


def _simulate(events, policy: dict, *, counted: bool, lifecycle_during_records: bool) -> tuple[Repository, list]:
    """Run the events against the model; returns the repository and a list of violations: a
    digest that a deploy ran, or that the last HISTORY recorded deploys hold, gone."""
    repo = _prod_repository(policy)
    ecr = FakeEcr(repo, after_put=(lambda: repo.run_lifecycle(lower_rules_count_matched=counted))
                  if lifecycle_during_records else None)
    history: list[str] = []  # recorded deploys, oldest first, consecutive repeats folded
    running: str | None = None
    builds = 0
    violations = []

    def check(when: str) -> None:
        needed = {*history[-deployments.HISTORY:], *([running] if running else [])}
        missing = needed - set(repo.images)
        if missing:
            violations.append((when, sorted(missing)))

    for kind, n in events:
        if kind == "push":
            for _ in range(n):
                builds += 1
                repo.now += 0.01
                repo.push_new(f"3.1.8-{builds:012x}")
        elif kind in ("deploy", "rollback"):
            newest = sorted(repo.images.values(), key=lambda i: i.pushed_at, reverse=True)
            if kind == "deploy" and newest:
                target = newest[n % len(newest)].digest
            elif kind == "rollback" and len(history) > 1:
                target = history[-1 - (1 + n % (len(history) - 1))]
            else:
                continue
            try:
                image_deploys.record(ecr, REPOSITORY, target)
            except ValueError:
                assert target not in repo.images  # refused only when it is gone: nothing deployed
                continue
            except EcrError as exc:  # an image expired in the middle of its own record
                violations.append((f"during {kind} {n}", str(exc)))
                continue
            running = target  # `pulumi up` after a successful record
            if not history or history[-1] != target:
                history.append(target)
        else:
            repo.now += n
            repo.run_lifecycle(lower_rules_count_matched=counted)
        check(f"after {kind} {n}")
    return repo, violations


@BOTH_READINGS
@settings(max_examples=150)
@given(events=EVENTS, during=st.booleans())
def test_no_push_wait_or_rollback_ever_expires_the_running_digest_or_the_last_deploys(counted, events, during):
    """Whatever is pushed, however long it waits and whatever is rolled back to, the digest prod
    runs and the last HISTORY recorded deploys stay, under both readings of the count rule, and
    with ECR evaluating the policy between any two tag moves of a record."""
    repo, violations = _simulate(events, registry.lifecycle_policy(KEEP), counted=counted,
                                 lifecycle_during_records=during)
    assert violations == []
    # And the policy still cleans up: never more than KEEP images beyond the protected ones.
    repo.run_lifecycle(lower_rules_count_matched=counted)
    assert len(repo.images) <= KEEP + len(deployments.TAGS)


@BOTH_READINGS
def test_control_without_the_deploy_records_keep_n_expires_the_running_digest(counted):
    """The review's finding, reproduced: keep-N alone expires a running digest once N newer images
    are pushed; the same events with the program's policy keep it."""
    events = [("push", 1), ("deploy", 0), ("push", KEEP), ("wait", 1)]
    old = {"rules": [r for r in registry.lifecycle_policy(KEEP)["rules"]
                     if r["selection"].get("tagPatternList") != [deployments.TAG_PATTERN]]}
    _, violations = _simulate(events, old, counted=counted, lifecycle_during_records=False)
    assert violations and violations[-1][0] == "after wait 1"
    _, violations = _simulate(events, registry.lifecycle_policy(KEEP), counted=counted, lifecycle_during_records=False)
    assert violations == []


def test_ordering_by_push_time_would_not_do():
    """Why the records are a register of mutable tags and not one new immutable tag per deploy kept
    by a count rule: a count rule orders by push time, which a new tag does not change, so after a
    rollback the running digest is the oldest of the deployed and goes first."""
    repo = Repository(REPOSITORY)
    digests = []
    for n in range(4):
        repo.now += 1
        digests.append(repo.push_new(f"3.1.8-{n:012x}"))
    for n, d in enumerate([*digests, digests[0]]):  # deploy 0, 1, 2, 3, then roll back to 0
        repo.now += 1
        repo.put(repo.images[d].manifest, f"deploy-{n}")
    per_deploy = {"rules": [{"rulePriority": 1, "selection": {
        "tagStatus": "tagged", "tagPatternList": ["deploy-*"], "countType": "imageCountMoreThan", "countNumber": 3},
        "action": {"type": "expire"}}]}
    assert ecr_model.expired(per_deploy, repo.images.values(), repo.now) == {digests[0]}  # the running one


# --- the tool ---------------------------------------------------------------------------------------
def test_a_digest_that_is_gone_stops_the_deploy_before_any_tag_moves():
    repo = _prod_repository(registry.lifecycle_policy(KEEP))
    ecr = FakeEcr(repo)
    image_deploys.record(ecr, REPOSITORY, repo.push_new("3.1.8-000000000001"))
    before = {d: set(i.tags) for d, i in repo.images.items()}
    ecr.calls.clear()
    with pytest.raises(ValueError, match="is not in prod/airflow") as err:
        image_deploys.record(ecr, REPOSITORY, digest(99))
    assert "Nothing was deployed" in str(err.value)
    assert ecr.calls == [] and {d: i.tags for d, i in repo.images.items()} == before


FAKE_AWS = """#!{python}
import json, sys
sys.path.insert(0, {root!r})
from tests.ecr_model import EcrError, Image, Repository
state_path, log_path = {state!r}, {log!r}
with open(log_path, "a") as log:
    log.write(json.dumps(sys.argv[1:]) + "\\n")
state = json.load(open(state_path))
repo = Repository("prod/airflow", mutability="IMMUTABLE_WITH_EXCLUSION", exclusion_filters=state["filters"])
for i in state["images"]:
    repo.images[i["digest"]] = Image(i["digest"], i["manifest"], i["pushed_at"], set(i["tags"]))
args = sys.argv[1:]
def value(flag):
    return args[args.index(flag) + 1]
def values(flag):
    start = args.index(flag) + 1
    end = next((n for n in range(start, len(args)) if args[n].startswith("--")), len(args))
    return args[start:end]
assert args[:1] == ["ecr"] and value("--output") == "json" and value("--repository-name") == "prod/airflow"
if args[1] == "batch-get-image":
    assert values("--accepted-media-types")
    images, failures = [], []
    for ref in values("--image-ids"):
        kind, _, key = ref.partition("=")
        image = repo.holder(key) if kind == "imageTag" else repo.images.get(key)
        if image is None:
            failures.append({{"imageId": {{kind: key}}, "failureCode": "ImageNotFound"}})
        else:
            image_id = {{"imageDigest": image.digest, **({{"imageTag": key}} if kind == "imageTag" else {{}})}}
            images.append({{"imageId": image_id, "imageManifest": image.manifest,
                           "imageManifestMediaType": image.media_type}})
    print(json.dumps({{"images": images, "failures": failures}}))
elif args[1] == "put-image":
    try:
        repo.put(value("--image-manifest"), value("--image-tag"), value("--image-digest"))
    except EcrError as exc:
        print(f"An error occurred ({{exc}}) when calling the PutImage operation", file=sys.stderr)
        sys.exit(254)
    print("{{}}")
json.dump({{"filters": state["filters"], "images": [
    {{"digest": i.digest, "manifest": i.manifest, "pushed_at": i.pushed_at, "tags": sorted(i.tags)}}
    for i in repo.images.values()]}}, open(state_path, "w"))
"""


def _fake_aws(tmp_path: Path, repo: Repository) -> tuple[Path, Path, Path]:
    state, log, aws = tmp_path / "state.json", tmp_path / "calls.log", tmp_path / "aws"
    state.write_text(json.dumps({"filters": registry.mutable_tag_filters(), "images": [
        {"digest": i.digest, "manifest": i.manifest, "pushed_at": i.pushed_at, "tags": sorted(i.tags)}
        for i in repo.images.values()]}))
    aws.write_text(FAKE_AWS.format(python=sys.executable, root=str(ROOT), state=str(state), log=str(log)))
    aws.chmod(0o755)
    return aws, state, log


def test_the_aws_cli_calls_move_the_records_and_tolerate_only_an_unchanged_tag(tmp_path):
    """The module's own command line, through the AWS CLI's argument shapes, against the model
    behind a stand-in `aws`: the manifest goes back byte for byte (PutImage checks the digest)."""
    repo = _prod_repository(registry.lifecycle_policy(KEEP))
    old, new = repo.push_new("3.1.8-00000000000a"), repo.push_new("3.1.8-00000000000b")
    image_deploys.record(FakeEcr(repo), REPOSITORY, old)
    aws, state, log = _fake_aws(tmp_path, repo)
    cli = image_deploys.AwsCli(str(aws))
    assert image_deploys.main(["record", REPOSITORY, new], ecr=cli) == 0
    tags = {i["digest"]: set(i["tags"]) for i in json.loads(state.read_text())["images"]}
    assert {"deployed-1", "deployed-next"} <= tags[new] and "deployed-2" in tags[old]
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    assert [c[1] for c in calls] == ["batch-get-image", "put-image", "put-image", "put-image"]
    # Re-running a record that got through (PutImage: ImageAlreadyExistsException) is no error...
    log.unlink()
    cli.put_image(REPOSITORY, image_deploys.Image(new, repo.images[new].manifest, repo.images[new].media_type, None),
                  "deployed-1")
    # ...any other refusal is.
    with pytest.raises(RuntimeError, match="ImageTagAlreadyExists"):
        cli.put_image(REPOSITORY, image_deploys.Image(new, repo.images[new].manifest, "", None), "3.1.8-00000000000a")


def test_the_command_line_refuses_a_missing_digest_with_status_1(tmp_path, capsys):
    repo = _prod_repository(registry.lifecycle_policy(KEEP))
    repo.push_new("3.1.8-00000000000a")
    aws, _, log = _fake_aws(tmp_path, repo)
    assert image_deploys.main(["record", REPOSITORY, digest(7)], ecr=image_deploys.AwsCli(str(aws))) == 1
    assert "is not in prod/airflow" in capsys.readouterr().err
    assert [json.loads(line)[1] for line in log.read_text().splitlines()] == ["batch-get-image"]


def test_an_unreadable_record_stops_the_record():
    """A failure other than ImageNotFound (KmsError...) must not read as an empty register."""
    script = ("import json; print(json.dumps({'images': [], 'failures': [{'imageId': {'imageTag': 'deployed-1'}, "
              "'failureCode': 'KmsError'}]}))")
    cli = image_deploys.AwsCli(sys.executable)
    cli._run = lambda *args: subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                                            check=False, env=os.environ.copy())
    with pytest.raises(RuntimeError, match="KmsError"):
        image_deploys.record(cli, REPOSITORY, digest(1))
