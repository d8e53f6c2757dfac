-- +goose Up
-- Reference data (spec §4).
CREATE TABLE townships (
    id          serial PRIMARY KEY,
    name        text NOT NULL UNIQUE,
    aliases     text[] NOT NULL DEFAULT '{}',
    appchat_id  text NOT NULL DEFAULT '',   -- a group chat the app created
    webhook_key text NOT NULL DEFAULT '',   -- or a group robot's webhook key
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE departments (
    id           serial PRIMARY KEY,
    name         text NOT NULL UNIQUE,
    categories   text[] NOT NULL DEFAULT '{}',
    token_sha256 text NOT NULL DEFAULT '',  -- only the hash of the push API token is kept
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX departments_token ON departments (token_sha256) WHERE token_sha256 <> '';

CREATE TABLE users (
    userid        text PRIMARY KEY,
    name          text NOT NULL,
    role          text NOT NULL CHECK (role IN ('liaison', 'office', 'cadre', 'supervisor')),
    township_id   int REFERENCES townships (id),
    department_id int REFERENCES departments (id),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CHECK (role <> 'cadre' OR township_id IS NOT NULL),
    CHECK (role <> 'liaison' OR department_id IS NOT NULL)
);
CREATE INDEX users_township ON users (township_id);
CREATE INDEX users_department ON users (department_id);

-- Registry of households exported from the national system.
CREATE TABLE registry_households (
    household_no   text PRIMARY KEY,          -- 户编号
    head_id_number text NOT NULL,
    township_id    int NOT NULL REFERENCES townships (id),
    village        text NOT NULL DEFAULT '',
    kind           text NOT NULL,             -- 户类型
    risk_status    text NOT NULL,             -- 风险状态
    updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX registry_households_head ON registry_households (head_id_number);
CREATE INDEX registry_households_township ON registry_households (township_id);

CREATE TABLE registry_members (
    id_number    text PRIMARY KEY,
    household_no text NOT NULL REFERENCES registry_households (household_no),
    name         text NOT NULL,
    relation     text NOT NULL DEFAULT '',
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX registry_members_household ON registry_members (household_no);

-- Department pushes (spec §3).
CREATE TABLE batches (
    id            text PRIMARY KEY,
    department_id int NOT NULL REFERENCES departments (id),
    category      text NOT NULL,
    period        text NOT NULL,            -- YYYY-MM
    sha256        text NOT NULL UNIQUE,     -- the same file twice returns the earlier batch
    filename      text NOT NULL DEFAULT '',
    source        text NOT NULL DEFAULT 'file',
    rows          int NOT NULL DEFAULT 0,
    accepted      int NOT NULL DEFAULT 0,
    rejected      int NOT NULL DEFAULT 0,
    warnings      int NOT NULL DEFAULT 0,
    errors        jsonb NOT NULL DEFAULT '[]',
    received_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX batches_department_period ON batches (department_id, category, period);

-- Accepted rows; rule is '' when the row raised no warning.
CREATE TABLE warnings (
    id             bigserial PRIMARY KEY,
    batch_id       text NOT NULL REFERENCES batches (id),
    row_no         int NOT NULL,
    category       text NOT NULL,
    period         text NOT NULL,
    rule           text NOT NULL DEFAULT '',
    amount         numeric(14, 2),
    id_number      text NOT NULL DEFAULT '',   -- '' for township-wide alerts (区域排查)
    name           text NOT NULL DEFAULT '',
    township_id    int NOT NULL REFERENCES townships (id),
    village        text NOT NULL DEFAULT '',
    head_id_number text NOT NULL DEFAULT '',
    registered     boolean NOT NULL DEFAULT false,  -- 建档立卡
    detail         jsonb NOT NULL DEFAULT '{}',     -- the row as read, for the cadre's private view
    case_id        bigint,                          -- set when dispatched
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX warnings_batch ON warnings (batch_id, row_no);
CREATE INDEX warnings_id_number ON warnings (id_number);
CREATE INDEX warnings_undispatched ON warnings (township_id) WHERE case_id IS NULL AND rule <> '';

-- Dispatch rounds (集中交办), one per month.
CREATE TABLE rounds (
    month         text PRIMARY KEY,   -- YYYY-MM
    dispatched_on date NOT NULL,
    last_seq      int NOT NULL DEFAULT 0,
    created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE cases (
    id             bigserial PRIMARY KEY,
    case_no        text NOT NULL UNIQUE,
    round          text NOT NULL REFERENCES rounds (month),
    kind           text NOT NULL CHECK (kind IN ('新增', '更新')),
    household_key  text NOT NULL,
    household_no   text NOT NULL DEFAULT '',
    head_name      text NOT NULL DEFAULT '',
    head_id_number text NOT NULL DEFAULT '',
    village        text NOT NULL DEFAULT '',
    township_id    int NOT NULL REFERENCES townships (id),
    department_id  int REFERENCES departments (id),
    status         text NOT NULL CHECK (status IN ('dispatched', 'verified', 'closed', 'returned')),
    result         text NOT NULL DEFAULT '' CHECK (result IN ('', '纳入', '已在监测', '不纳入')),
    reason         text NOT NULL DEFAULT '',
    dispatched_at  timestamptz NOT NULL,
    due_on         date NOT NULL,
    verified_at    timestamptz,
    entered_on     date,
    closed_at      timestamptz,
    returns        int NOT NULL DEFAULT 0,
    version        int NOT NULL DEFAULT 1,
    CHECK (status <> 'closed' OR closed_at IS NOT NULL),
    CHECK (result <> '不纳入' OR reason <> '')
);
-- One open case per household: a second dispatch adds to it (补充预警).
CREATE UNIQUE INDEX cases_open_household ON cases (household_key) WHERE status <> 'closed';
CREATE INDEX cases_township_status ON cases (township_id, status);
CREATE INDEX cases_department ON cases (department_id) WHERE department_id IS NOT NULL;
CREATE INDEX cases_due_open ON cases (due_on) WHERE status <> 'closed';
CREATE INDEX cases_round ON cases (round);

ALTER TABLE warnings ADD CONSTRAINT warnings_case FOREIGN KEY (case_id) REFERENCES cases (id);
CREATE INDEX warnings_case ON warnings (case_id) WHERE case_id IS NOT NULL;

-- Audit trail: one row for every change of a case, written in the same transaction.
CREATE TABLE case_events (
    id          bigserial PRIMARY KEY,
    case_id     bigint NOT NULL REFERENCES cases (id),
    action      text NOT NULL,
    from_status text NOT NULL DEFAULT '',
    to_status   text NOT NULL,
    actor       text NOT NULL,
    actor_role  text NOT NULL DEFAULT '',
    source_msg  text NOT NULL DEFAULT '',  -- WeCom msgid, form submission id, CLI
    detail      jsonb NOT NULL DEFAULT '{}',
    at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX case_events_case ON case_events (case_id, id);

-- Reminders (spec §10): Postgres holds what is due, Redis only the schedule.
CREATE TABLE reminders (
    id            bigserial PRIMARY KEY,
    key           text NOT NULL UNIQUE,        -- planning twice is harmless
    kind          text NOT NULL,
    case_id       bigint REFERENCES cases (id),
    department_id int REFERENCES departments (id),
    township_id   int REFERENCES townships (id),
    target        text NOT NULL,
    due_at        timestamptz NOT NULL,
    state         text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'cancelled')),
    late          boolean NOT NULL DEFAULT false,
    sent_at       timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX reminders_pending ON reminders (due_at) WHERE state = 'pending';
CREATE INDEX reminders_case ON reminders (case_id) WHERE case_id IS NOT NULL;

-- Every outgoing WeCom message, delivered by a worker (at most once per idem_key).
CREATE TABLE outbox (
    id              bigserial PRIMARY KEY,
    idem_key        text NOT NULL UNIQUE,
    channel         text NOT NULL,      -- message, appchat, webhook, response_url, update_card
    target          text NOT NULL,
    payload         jsonb NOT NULL,
    state           text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'failed')),
    attempts        int NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error      text NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL DEFAULT now(),
    sent_at         timestamptz
);
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE state = 'pending';

-- WeCom retries callbacks: remember what was received so a restart does not forget.
CREATE TABLE callback_dedup (
    key         text PRIMARY KEY,
    received_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE spot_checks (
    id         bigserial PRIMARY KEY,
    case_id    bigint NOT NULL REFERENCES cases (id),
    month      text NOT NULL,
    seed       bigint NOT NULL,
    supervisor text NOT NULL DEFAULT '',
    result     text NOT NULL DEFAULT '' CHECK (result IN ('', '合格', '不合格')),
    note       text NOT NULL DEFAULT '',
    picked_at  timestamptz NOT NULL DEFAULT now(),
    decided_at timestamptz,
    UNIQUE (case_id, month)
);

-- +goose Down
DROP TABLE spot_checks, callback_dedup, outbox, reminders, case_events;
ALTER TABLE warnings DROP CONSTRAINT warnings_case;
DROP TABLE cases, rounds, warnings, batches, registry_members, registry_households, users, departments, townships;
