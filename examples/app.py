"""A small recipe API written against rustlette, the way a Starlette app is written.

Serve it with `uvicorn examples.app:app` from the repository root, then try
`curl localhost:8000/recipes?tag=quick` or `curl localhost:8000/recipes/1/scale/2.5`.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import AsyncIterator
from typing import Any

from rustlette.applications import Starlette
from rustlette.exceptions import HTTPException
from rustlette.requests import Request
from rustlette.responses import HTMLResponse, JSONResponse
from rustlette.routing import Route

SEED_RECIPES: list[dict[str, Any]] = [
    {"name": "Pancakes", "tags": ["breakfast"], "ingredients": {"flour_g": 200, "milk_ml": 300, "eggs": 2}},
    {"name": "Omelette", "tags": ["breakfast", "quick"], "ingredients": {"eggs": 3, "butter_g": 10}},
    {"name": "Tomato soup", "tags": ["quick"], "ingredients": {"tomatoes_g": 800, "stock_ml": 500}},
]

HOME_PAGE = """<!doctype html>
<html>
  <head><title>Recipes</title></head>
  <body>
    <h1>Recipes</h1>
    <p>A JSON API: <code>GET /recipes</code>, <code>GET /recipes/{id}</code>,
    <code>GET /recipes/{id}/scale/{factor}</code>, <code>GET /tags/{tag}</code>, <code>POST /recipes</code>.</p>
  </body>
</html>
"""


@contextlib.asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Any]]:
    # Servers give each request a shallow copy of this state, so all requests share one `recipes` dict.
    recipes = {number: dict(recipe) for number, recipe in enumerate(SEED_RECIPES, start=1)}
    yield {"recipes": recipes}


def find_recipe(request: Request, recipe_id: int) -> dict[str, Any]:
    recipe: dict[str, Any] | None = request.state.recipes.get(recipe_id)
    if recipe is None:
        raise HTTPException(status_code=404, detail=f"Recipe {recipe_id} not found")
    return {"id": recipe_id, **recipe}


async def home(request: Request) -> HTMLResponse:
    return HTMLResponse(HOME_PAGE)


async def list_recipes(request: Request) -> JSONResponse:
    tag = request.query_params.get("tag")
    limit_text = request.query_params.get("limit", "10")
    try:
        limit = int(limit_text)
    except ValueError:
        limit = -1
    if limit < 0:
        raise HTTPException(status_code=400, detail=f"limit must be a non-negative integer, got {limit_text!r}")

    recipes = [find_recipe(request, number) for number in sorted(request.state.recipes)]
    if tag is not None:
        recipes = [recipe for recipe in recipes if tag in recipe["tags"]]
    return JSONResponse(recipes[:limit])


async def get_recipe(request: Request) -> JSONResponse:
    return JSONResponse(find_recipe(request, request.path_params["recipe_id"]))


async def scale_recipe(request: Request) -> JSONResponse:
    recipe = find_recipe(request, request.path_params["recipe_id"])
    factor: float = request.path_params["factor"]
    scaled = {name: round(amount * factor, 2) for name, amount in recipe["ingredients"].items()}
    return JSONResponse({**recipe, "factor": factor, "ingredients": scaled})


async def recipes_by_tag(request: Request) -> JSONResponse:
    tag = request.path_params["tag"]
    names = [recipe["name"] for recipe in request.state.recipes.values() if tag in recipe["tags"]]
    return JSONResponse({"tag": tag, "recipes": names})


def parse_recipe(data: Any) -> dict[str, Any]:
    """Check a posted recipe and return it in stored form, or raise a 422 naming the problem."""
    if not isinstance(data, dict) or not isinstance(data.get("name"), str):
        raise HTTPException(status_code=422, detail="expected an object with a string 'name'")

    tags = data.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
        raise HTTPException(status_code=422, detail="'tags' must be a list of strings")

    ingredients = data.get("ingredients", {})
    if not isinstance(ingredients, dict):
        raise HTTPException(status_code=422, detail="'ingredients' must be an object of amounts")
    for name, amount in ingredients.items():
        # bool is an int subclass, and JSON numbers such as 1e400 parse as infinity.
        if isinstance(amount, bool) or not isinstance(amount, int | float) or not math.isfinite(amount):
            raise HTTPException(status_code=422, detail=f"amount of {name!r} must be a finite number")

    return {"name": data["name"], "tags": tags, "ingredients": ingredients}


async def create_recipe(request: Request) -> JSONResponse:
    try:
        data = await request.json()
    except ValueError as exc:
        # json.JSONDecodeError for malformed JSON, UnicodeDecodeError for a body that is not UTF-8.
        return JSONResponse({"error": f"invalid JSON: {exc}"}, status_code=400)

    recipe = parse_recipe(data)
    recipe_id = max(request.state.recipes, default=0) + 1
    request.state.recipes[recipe_id] = recipe
    return JSONResponse({"id": recipe_id, **recipe}, status_code=201)


app = Starlette(
    routes=[
        Route("/", home),
        Route("/recipes", list_recipes),
        Route("/recipes", create_recipe, methods=["POST"]),
        Route("/recipes/{recipe_id:int}", get_recipe),
        Route("/recipes/{recipe_id:int}/scale/{factor:float}", scale_recipe),
        Route("/tags/{tag}", recipes_by_tag),
    ],
    lifespan=lifespan,
)
