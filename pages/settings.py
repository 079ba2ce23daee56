"""Settings: which database and AI providers this workspace uses."""

import streamlit as st

from chronos_data import chat, chunks, creators, providers, workspace
from chronos_data.ingest import pipeline
from components import layout, state
from components.teammates import render_teammates

state.require_router()

st.title("Settings")

db = state.get_database()
status = workspace.database_status(db)
active = providers.active_providers(state.get_settings())
with state.workspace() as t:
    creator = creators.get_creator(t)
    by_model = chunks.count_by_model(t)
    asked_today = chat.questions_today(t)

st.subheader("Workspace")
if not state.sign_in_required():
    mode = "single-user mode (no sign-in configured)"
elif state.can_edit():
    mode = "you own this workspace"
else:
    mode = "read-only analyst access"
st.markdown(
    f"**{layout.email_html(creator.email)}** · {creator.subscription_tier.title()} plan · {mode}",
    unsafe_allow_html=True,
)
render_teammates()

st.subheader("Database")
database_kind = "Embedded PostgreSQL (local data folder)" if status.kind == "embedded" else "PostgreSQL server from DATABASE_URL"
st.markdown(
    f"- **In use:** {database_kind}\n"
    f"- **Location:** `{status.url}`\n"
    f"- **PostgreSQL:** {status.server_version} · **pgvector:** {status.pgvector_version or 'missing'}\n"
    f"- **Schema version:** `{status.schema_version}` ({status.applied_migrations} migrations applied"
    f"{', ' + str(len(status.pending_migrations)) + ' pending' if status.pending_migrations else ''})"
)

st.subheader("AI providers")
st.markdown(
    f"- **Embeddings:** {active.embeddings}\n"
    f"- **Answers:** {active.answers}\n"
    f"- **Transcription:** {active.transcription}"
)
if active.online:
    st.caption(f"OpenAI-compatible endpoint: {active.openai_endpoint}")
else:
    st.caption("Offline mode. Set OPENAI_API_KEY (and optionally OPENAI_BASE_URL) to enable OpenAI.")

cap = chat.DAILY_QUESTION_CAP.get(creator.subscription_tier)
st.markdown(f"- **Assistant questions today:** {asked_today:,} of "
            f"{f'{cap:,}' if cap is not None else 'unlimited'} ({creator.subscription_tier} plan; the count "
            "starts again at midnight)")

st.subheader("Search index")
active_model = state.get_embedder().model
if not by_model:
    st.caption("No transcripts are indexed yet.")
else:
    st.markdown("\n".join(f"- **{model or 'not embedded'}**: {count:,} chunks" for model, count in by_model.items()))
    stale = sum(count for model, count in by_model.items() if model != active_model)
    if stale:
        st.warning(f"{stale:,} chunks were embedded with another model than the active one ({active_model}); "
                   "the assistant searches only the active model's vectors. Re-embed to include them.",
                   icon=":material/sync_problem:")
        if state.can_edit() and st.button("Re-embed all videos", key="settings_reembed", icon=":material/sync:"):
            with state.workspace() as t:
                queued = pipeline.requeue_for_embedding(t)
            if worker := state.get_import_worker():
                worker.wake()
            st.success(f"{layout.plural(len(queued), 'video')} queued for re-embedding; follow them on the Videos page.",
                       icon=":material/hourglass_top:")

from components.collect_panel import render_collect_panel  # noqa: E402  (kept with its call)

render_collect_panel()

from components.whop_panel import render_whop  # noqa: E402  (kept with its call)

render_whop()

from components.backup_panel import render_backup_panel  # noqa: E402  (the page's last section, kept with its call)

render_backup_panel()
