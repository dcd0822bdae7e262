"""A tiny API used only by the kernel's tests: one POST that writes an audit event, one that refuses."""

from django.urls import include, path
from rest_framework import serializers
from rest_framework.response import Response

from psa.core.api import APIView
from psa.core.audit import audit_record
from psa.core.exceptions import InvalidTransition, MissingFields
from psa.core.roles import Role


class NoteSerializer(serializers.Serializer):
    text = serializers.CharField(max_length=50)


class NoteView(APIView):
    allowed_roles = (Role.FINANCE,)

    def post(self, request):
        data = NoteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        event = audit_record(
            actor=request.user,
            action="note",
            object_type="test",
            object_id="1",
            summary=data.validated_data["text"],
        )
        return Response({"id": event.pk, "text": event.summary}, status=201)


class RefuseView(APIView):
    allowed_roles = (Role.FINANCE,)

    def post(self, request):
        if request.data.get("kind") == "missing":
            raise MissingFields(
                "Cannot win: 2 fields are missing.", fields={"start": "Required.", "terms": "Required."}
            )
        raise InvalidTransition("Cannot change status from 'paid' to 'draft'.")


urlpatterns = [
    path("api/test/notes/", NoteView.as_view()),
    path("api/test/refuse/", RefuseView.as_view()),
    path("", include("psa.urls")),
]
