"""The schedules table: one item per schedule of a tenant (what the API lists, what run-after reads)."""

from __future__ import annotations

from pynamodb.exceptions import DoesNotExist, PutError

from switchyard.data.common import conditional_failed
from switchyard.data.models import ScheduleModel
from switchyard.domain.schedules import Schedule


class ScheduleRepository:
    def get(self, tenant: str, name: str) -> Schedule | None:
        try:
            item = ScheduleModel.get(tenant, name, consistent_read=True)
        except DoesNotExist:
            return None
        return Schedule.model_validate(item.body)

    def list(self, tenant: str) -> list[Schedule]:
        return [Schedule.model_validate(item.body) for item in ScheduleModel.query(tenant)]

    def create(self, schedule: Schedule) -> bool:
        """Write a new schedule; False when the tenant already has one with that name."""
        try:
            self._item(schedule).save(condition=ScheduleModel.name.does_not_exist())
        except PutError as exc:
            if conditional_failed(exc):
                return False
            raise
        return True

    def replace(self, schedule: Schedule) -> None:
        self._item(schedule).save()

    def delete(self, tenant: str, name: str) -> None:
        ScheduleModel(tenant, name).delete()

    @staticmethod
    def _item(schedule: Schedule) -> ScheduleModel:
        return ScheduleModel(schedule.tenant, schedule.name, body=schedule.model_dump(mode="json"))
