"""governance: hot-spot thresholds and alerts, 每月一题 topics with their plan and three lists

Revision ID: 0008_governance
Revises: 0007_kb
Create Date: 2026-12-02 09:06:57.362135

"""
from datetime import datetime

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0008_governance"
down_revision = "0007_kb"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('topics',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=40), nullable=False),
    sa.Column('title', sa.String(length=100), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('month', sa.Integer(), nullable=True),
    sa.Column('keywords', sa.String(length=300), nullable=False),
    sa.Column('lead_unit_id', sa.Integer(), nullable=False),
    sa.Column('plan', sa.Text(), nullable=False),
    sa.Column('published', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint('year >= 2000 AND year <= 2100', name=op.f('ck_topics_year')),
    sa.ForeignKeyConstraint(['lead_unit_id'], ['units.id'], name=op.f('fk_topics_lead_unit_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_topics')),
    sa.UniqueConstraint('slug', name=op.f('uq_topics_slug'))
    )
    with op.batch_alter_table('topics', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_topics_year'), ['year'], unique=False)

    op.create_table('hotspot_alerts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('street_id', sa.Integer(), nullable=False),
    sa.Column('category_id', sa.Integer(), nullable=False),
    sa.Column('address', sa.String(length=200), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=8), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('min_count', sa.Integer(), nullable=False),
    sa.Column('window_days', sa.Integer(), nullable=False),
    sa.Column('since', sa.DateTime(), nullable=False),
    sa.Column('until', sa.DateTime(), nullable=False),
    sa.Column('action_note', sa.Text(), nullable=False),
    sa.Column('acted_at', sa.DateTime(), nullable=True),
    sa.Column('acted_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("status <> 'acted' OR (acted_at IS NOT NULL AND action_note <> '')", name=op.f('ck_hotspot_alerts_acted_has_note')),
    sa.CheckConstraint("status IN ('open', 'acted')", name=op.f('ck_hotspot_alerts_status')),
    sa.CheckConstraint('count >= 1', name=op.f('ck_hotspot_alerts_count_positive')),
    sa.ForeignKeyConstraint(['acted_by_id'], ['users.id'], name=op.f('fk_hotspot_alerts_acted_by_id_users')),
    sa.ForeignKeyConstraint(['street_id'], ['units.id'], name=op.f('fk_hotspot_alerts_street_id_units')),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_hotspot_alerts_unit_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hotspot_alerts'))
    )
    with op.batch_alter_table('hotspot_alerts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_hotspot_alerts_created_at'), ['created_at'], unique=False)
        batch_op.create_index('ix_hotspot_alerts_key', ['kind', 'street_id', 'category_id', 'address'], unique=False)
        batch_op.create_index('ix_hotspot_alerts_status_unit', ['status', 'unit_id'], unique=False)

    op.create_table('hotspot_rules',
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('min_count', sa.Integer(), nullable=False),
    sa.Column('window_days', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("kind IN ('street_category', 'address')", name=op.f('ck_hotspot_rules_kind')),
    sa.CheckConstraint('min_count >= 2 AND window_days >= 1 AND window_days <= 366', name=op.f('ck_hotspot_rules_positive')),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_hotspot_rules_updated_by_id_users')),
    sa.PrimaryKeyConstraint('kind', name=op.f('pk_hotspot_rules'))
    )
    # the thresholds the center starts with (changed on /staff/governance/hotspots/rules)
    rules = sa.table('hotspot_rules', sa.column('kind', sa.String), sa.column('min_count', sa.Integer),
                     sa.column('window_days', sa.Integer), sa.column('active', sa.Boolean),
                     sa.column('updated_at', sa.DateTime))
    created = datetime(2026, 12, 1)
    op.bulk_insert(rules, [
        {'kind': 'street_category', 'min_count': 5, 'window_days': 7, 'active': True, 'updated_at': created},
        {'kind': 'address', 'min_count': 3, 'window_days': 30, 'active': True, 'updated_at': created},
    ])
    op.create_index('ix_tickets_hotspot_category', 'tickets', ['street_id', 'category_id', 'created_at', 'status'])
    op.create_index('ix_tickets_hotspot_address', 'tickets', ['street_id', 'address', 'created_at', 'status'])
    op.create_table('topic_categories',
    sa.Column('topic_id', sa.Integer(), nullable=False),
    sa.Column('category_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['category_id'], ['categories.id'], name=op.f('fk_topic_categories_category_id_categories')),
    sa.ForeignKeyConstraint(['topic_id'], ['topics.id'], name=op.f('fk_topic_categories_topic_id_topics'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('topic_id', 'category_id', name=op.f('pk_topic_categories'))
    )
    op.create_table('topic_policies',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('topic_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('issued_on', sa.Date(), nullable=True),
    sa.CheckConstraint("status IN ('drafting', 'issued', 'in_force')", name=op.f('ck_topic_policies_status')),
    sa.ForeignKeyConstraint(['topic_id'], ['topics.id'], name=op.f('fk_topic_policies_topic_id_topics'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_topic_policies'))
    )
    with op.batch_alter_table('topic_policies', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_topic_policies_topic_id'), ['topic_id'], unique=False)

    op.create_table('topic_responsibilities',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('topic_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('duty', sa.String(length=300), nullable=False),
    sa.ForeignKeyConstraint(['topic_id'], ['topics.id'], name=op.f('fk_topic_responsibilities_topic_id_topics'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_topic_responsibilities_unit_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_topic_responsibilities'))
    )
    with op.batch_alter_table('topic_responsibilities', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_topic_responsibilities_topic_id'), ['topic_id'], unique=False)

    op.create_table('topic_tasks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('topic_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('owner_unit_id', sa.Integer(), nullable=False),
    sa.Column('due', sa.Date(), nullable=True),
    sa.Column('status', sa.String(length=8), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("status IN ('todo', 'doing', 'done')", name=op.f('ck_topic_tasks_status')),
    sa.ForeignKeyConstraint(['owner_unit_id'], ['units.id'], name=op.f('fk_topic_tasks_owner_unit_id_units')),
    sa.ForeignKeyConstraint(['topic_id'], ['topics.id'], name=op.f('fk_topic_tasks_topic_id_topics'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_topic_tasks'))
    )
    with op.batch_alter_table('topic_tasks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_topic_tasks_topic_id'), ['topic_id'], unique=False)



def downgrade():
    with op.batch_alter_table('topic_tasks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_topic_tasks_topic_id'))

    op.drop_table('topic_tasks')
    with op.batch_alter_table('topic_responsibilities', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_topic_responsibilities_topic_id'))

    op.drop_table('topic_responsibilities')
    with op.batch_alter_table('topic_policies', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_topic_policies_topic_id'))

    op.drop_table('topic_policies')
    op.drop_table('topic_categories')
    op.drop_index('ix_tickets_hotspot_address', table_name='tickets')
    op.drop_index('ix_tickets_hotspot_category', table_name='tickets')
    op.drop_table('hotspot_rules')
    with op.batch_alter_table('hotspot_alerts', schema=None) as batch_op:
        batch_op.drop_index('ix_hotspot_alerts_status_unit')
        batch_op.drop_index('ix_hotspot_alerts_key')
        batch_op.drop_index(batch_op.f('ix_hotspot_alerts_created_at'))

    op.drop_table('hotspot_alerts')
    with op.batch_alter_table('topics', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_topics_year'))

    op.drop_table('topics')
