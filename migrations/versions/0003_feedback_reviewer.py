"""record the feedback reviewer on the request

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21 22:38:26.182535

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('review_unit_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('review_by_leader', sa.Boolean(), server_default='0', nullable=False))
        batch_op.create_index(batch_op.f('ix_tickets_review_unit_id'), ['review_unit_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_tickets_review_unit_id_units'), 'units', ['review_unit_id'], ['id'])

    # Feedback already waiting for review: record the reviewer the settings name today.
    tickets = sa.table('tickets', sa.column('status', sa.String), sa.column('handling_unit_id', sa.Integer),
                       sa.column('review_unit_id', sa.Integer), sa.column('review_by_leader', sa.Boolean))
    units = sa.table('units', sa.column('id', sa.Integer), sa.column('parent_id', sa.Integer),
                     sa.column('tier', sa.Integer), sa.column('requires_leader_approval', sa.Boolean),
                     sa.column('reviews_child_feedback', sa.Boolean))
    waiting = tickets.c.status == 'feedback_review'
    leader_units = sa.select(units.c.id).where(units.c.requires_leader_approval.is_(sa.true()))
    op.execute(tickets.update().where(waiting, tickets.c.handling_unit_id.in_(leader_units))
               .values(review_unit_id=tickets.c.handling_unit_id, review_by_leader=sa.true()))
    parent = units.alias('parent')
    reviewing_parent = (sa.select(parent.c.id).select_from(units.join(parent, units.c.parent_id == parent.c.id))
                        .where(units.c.id == tickets.c.handling_unit_id, units.c.tier == 3,
                               parent.c.reviews_child_feedback.is_(sa.true())).scalar_subquery())
    op.execute(tickets.update().where(waiting, tickets.c.review_unit_id.is_(None))
               .values(review_unit_id=reviewing_parent, review_by_leader=sa.false()))
    # no review configured any more: the unit's own leader decides
    op.execute(tickets.update().where(waiting, tickets.c.review_unit_id.is_(None))
               .values(review_unit_id=tickets.c.handling_unit_id, review_by_leader=sa.true()))

    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.create_check_constraint(
            'review_has_reviewer', "status <> 'feedback_review' OR review_unit_id IS NOT NULL")


def downgrade():
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_tickets_review_has_reviewer'), type_='check')
        batch_op.drop_constraint(batch_op.f('fk_tickets_review_unit_id_units'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_tickets_review_unit_id'))
        batch_op.drop_column('review_by_leader')
        batch_op.drop_column('review_unit_id')

