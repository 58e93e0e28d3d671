"""Field types shared by the spec's sections (`generator.spec`, `generator.platform.settings`).

Every rule is written once: the spec model's configuration, Kubernetes names, image references (pinned by
digest, or with a tag where a digest cannot be known yet), and the pattern check whose message names what
is allowed.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

from jukebox.inputs import shorten

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
# registry[:port]/path, then `:tag` and/or `@sha256:<64 hex>`.
_IMAGE_NAME = r"[a-z0-9]+([._-][a-z0-9]+)*(\.[a-z0-9]+([._-][a-z0-9]+)*)*(:[0-9]+)?(/[a-z0-9]+([._-][a-z0-9]+)*)+"
_TAG = r":[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"
_DIGEST = r"@sha256:[a-f0-9]{64}"
# The digest is required so a deploy is reproducible.
PINNED_IMAGE = re.compile(f"^{_IMAGE_NAME}({_TAG})?{_DIGEST}$")
# A tag-only reference, where no digest could be verified when the default was written (see its field).
IMAGE_REF = re.compile(f"^{_IMAGE_NAME}({_TAG})?({_DIGEST})?$")
# A tag or a digest: an image the user builds and pushes (pin its digest once pushed).
TAGGED_IMAGE = re.compile(f"^{_IMAGE_NAME}({_TAG}({_DIGEST})?|{_DIGEST})$")


class SpecModel(BaseModel):
    """Every section of the spec: camelCase keys, unknown keys refused, strict types, immutable."""

    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=True, frozen=True, strict=True)


def matches(pattern: re.Pattern[str], what: str) -> AfterValidator:
    """The whole value must match `pattern`; the error says what is allowed and shows (a cut of) the value."""

    def check(value: str) -> str:
        if not pattern.fullmatch(value):
            raise ValueError(f"must be {what} (got {shorten(value)})")
        return value

    return AfterValidator(check)


def dns_label(value: str, max_length: int) -> str:
    if len(value) > max_length:
        raise ValueError(f"must be at most {max_length} characters (got {len(value)})")
    if not _DNS_LABEL.fullmatch(value):
        raise ValueError(
            "must be a Kubernetes name: lowercase letters, digits and '-', starting and ending "
            f"with a letter or digit (got {shorten(value)})"
        )
    return value


KubeName = Annotated[str, AfterValidator(lambda value: dns_label(value, 63))]
PinnedImage = Annotated[
    str, matches(PINNED_IMAGE, "an image reference pinned by digest: registry/repo[:tag]@sha256:<64 hex>")
]
ImageRef = Annotated[str, matches(IMAGE_REF, "an image reference registry/repo[:tag][@sha256:<64 hex>]")]
TaggedImage = Annotated[
    str, matches(TAGGED_IMAGE, "an image reference with a tag or a digest: registry/repo:tag[@sha256:<64 hex>]")
]
