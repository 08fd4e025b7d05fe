"""`manage.py sync --integration ID [--entity E] [--now] [--json]`: run or enqueue a sync."""

import json

from django.core.management.base import BaseCommand, CommandError

from integrator import services
from integrator.models import Integration, SyncJob


class Command(BaseCommand):
    help = "Runs (--now) or enqueues a sync job for one integration and entity."

    def add_arguments(self, parser):
        parser.add_argument("--integration", type=int, required=True)
        parser.add_argument(
            "--entity", choices=[k.value for k in SyncJob.Kind], default=SyncJob.Kind.ORDERS
        )
        parser.add_argument("--now", action="store_true", help="Run in the foreground.")
        parser.add_argument("--json", action="store_true", help="Print a one-line summary.")
        # Only for --entity initial_products: which way, and whether only to list what it would do.
        parser.add_argument("--direction", choices=["shop_to_erp", "erp_to_shop"])
        parser.add_argument("--dry-run", action="store_true", help="List, change nothing.")

    def handle(self, *args, integration, entity, now, json: bool, **options):
        try:
            target = Integration.objects.select_related("customer").get(pk=integration)
        except Integration.DoesNotExist as exc:
            raise CommandError(f"No integration with id {integration}.") from exc
        job_options = {}
        if entity == SyncJob.Kind.INITIAL_PRODUCTS:
            if not options.get("direction"):
                raise CommandError("The initial product sync needs --direction.")
            job_options = {"direction": options["direction"], "dry_run": options["dry_run"]}
        elif options.get("direction") or options.get("dry_run"):
            raise CommandError("--direction and --dry-run are for --entity initial_products.")
        try:
            job, created = services.job_enqueue(
                integration=target,
                kind=entity,
                trigger=SyncJob.Trigger.COMMAND,
                options=job_options,
                queue=not now,
            )
        except services.JobNotAllowed as exc:
            raise CommandError(str(exc)) from exc
        if not created:
            raise CommandError(
                f"Job {job.pk} ({job.get_kind_display()}) is already {job.status} for this "
                "integration; two of the same kind never run at once."
            )
        if now:
            services.job_run(job_id=job.pk, progress=None if json else self._progress)
            job.refresh_from_db()
        self._report(job, as_json=json)
        if job.status == SyncJob.Status.FAILED:
            raise CommandError(job.error or "The job failed.")

    def _progress(self, job: SyncJob) -> None:
        total = f"/{job.progress_total}" if job.progress_total else ""
        self.stderr.write(
            f"\r{job.progress_done}{total} done · {job.transferred} transferred · "
            f"{job.skipped} skipped · {job.failed} failed",
            ending="",
        )

    def _report(self, job: SyncJob, *, as_json: bool) -> None:
        summary = {
            "job": job.pk,
            "status": job.status,
            "transferred": job.transferred,
            "skipped": job.skipped,
            "failed": job.failed,
        }
        if as_json:
            self.stdout.write(json.dumps(summary))
            return
        if job.status == SyncJob.Status.QUEUED:
            self.stdout.write(f"Job {job.pk} queued; a qcluster worker will run it.")
            return
        self.stderr.write("")
        self.stdout.write(
            f"Job {job.pk}: {job.get_status_display()} — {job.transferred} transferred, "
            f"{job.skipped} skipped, {job.failed} failed."
        )
        for item in job.items.filter(outcome="failed")[:20]:
            self.stdout.write(f"  failed {item.object_type} {item.key}: {item.message}")
