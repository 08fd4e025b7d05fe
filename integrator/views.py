"""Views outside the admin. Thin: they read, render, and leave the work to models and services."""

from django.db import connection
from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET


@never_cache
@require_GET
def healthz(request):
    """For operations: is the database reachable, and is the queue moving? Leaks nothing else."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        database_ok = True
    except Exception:
        database_ok = False
    body = {"database": "ok" if database_ok else "unreachable"}
    if database_ok:
        from integrator.queue import queue_depth_and_oldest

        depth, oldest = queue_depth_and_oldest()
        body["queue_depth"] = depth
        body["oldest_task_age_seconds"] = (
            int((timezone.now() - oldest).total_seconds()) if oldest else 0
        )
    return JsonResponse(body, status=200 if database_ok else 503)
