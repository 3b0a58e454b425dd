"""The skills API: what the workers behind this gateway can run."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from skilld.gateway.problems import problem_responses
from skilld.gateway.registry import SkillCatalog, find_skill
from skilld.gateway.schemas import ref

__all__ = ["skills_router"]


def skills_router(registry: SkillCatalog) -> APIRouter:
    router = APIRouter(prefix="/v1/skills", tags=["skills"])

    @router.get(
        "",
        summary="List skills",
        description="Every visible skill, in the shape of `skilld list --json`.",
        responses={
            200: {
                "description": "The skills.",
                "content": {"application/json": {"schema": ref("SkillList")}},
            },
            **problem_responses(401),
        },
    )
    async def list_skills() -> dict[str, Any]:
        return {"skills": [skill.to_dict() for skill in registry.skills()]}

    @router.get(
        "/{name:path}",
        summary="Show one skill",
        description="Every field of one skill, in the shape of `skilld show --json`.",
        responses={
            200: {
                "description": "The skill.",
                "content": {"application/json": {"schema": {"type": "object"}}},
            },
            **problem_responses(401, 404),
        },
    )
    async def show_skill(name: str) -> dict[str, Any]:
        return find_skill(registry, name).to_dict()

    return router
