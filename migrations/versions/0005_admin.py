"""admin: dispatch rules, city settings, two-factor sign-in, the TRANSFER action

Revision ID: 0005_admin
Revises: 0004_ranking
Create Date: 2026-12-02 09:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0005_admin"
down_revision = "0004_ranking"
branch_labels = None
depends_on = None

OLD_ACTIONS = ['submit', 'accept', 'answer', 'invalidate', 'merge', 'dispatch', 'redispatch', 'sign', 'note',
               'request_return', 'approve_return', 'reject_return', 'request_extension', 'approve_extension',
               'reject_extension', 'feedback', 'submit_feedback', 'approve_feedback', 'reject_feedback',
               'send_back', 'callback', 'rehandle', 'close', 'supervise', 'transfer_discipline', 'supplement',
               'rate']
NEW_ACTIONS = OLD_ACTIONS + ['transfer']


def _in(values):
    return "action IN (" + ", ".join(f"'{v}'" for v in values) + ")"


def upgrade():
    op.create_table('dispatch_rules',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('category_id', sa.Integer(), nullable=False),
    sa.Column('area_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['area_id'], ['units.id'], name=op.f('fk_dispatch_rules_area_id_units')),
    sa.ForeignKeyConstraint(['category_id'], ['categories.id'], name=op.f('fk_dispatch_rules_category_id_categories')),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_dispatch_rules_unit_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dispatch_rules')),
    sa.UniqueConstraint('category_id', 'area_id', name='uq_dispatch_rules_category_area')
    )
    with op.batch_alter_table('dispatch_rules', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dispatch_rules_area_id'), ['area_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_dispatch_rules_category_id'), ['category_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_dispatch_rules_unit_id'), ['unit_id'], unique=False)

    op.create_table('settings',
    sa.Column('key', sa.String(length=48), nullable=False),
    sa.Column('value', sa.String(length=200), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_settings'))
    )
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('totp_secret', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('totp_enabled', sa.Boolean(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('totp_last_step', sa.Integer(), nullable=True))

    # the new lifecycle action TRANSFER (移交): widen the CHECK on ticket_events.action
    with op.batch_alter_table('ticket_events', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_ticket_events_action'), type_='check')
        batch_op.create_check_constraint('action', _in(NEW_ACTIONS))


def downgrade():
    # a database that recorded transfers cannot go back: the old CHECK would refuse those rows
    with op.batch_alter_table('ticket_events', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_ticket_events_action'), type_='check')
        batch_op.create_check_constraint('action', _in(OLD_ACTIONS))
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('totp_last_step')
        batch_op.drop_column('totp_enabled')
        batch_op.drop_column('totp_secret')
    op.drop_table('settings')
    with op.batch_alter_table('dispatch_rules', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dispatch_rules_unit_id'))
        batch_op.drop_index(batch_op.f('ix_dispatch_rules_category_id'))
        batch_op.drop_index(batch_op.f('ix_dispatch_rules_area_id'))
    op.drop_table('dispatch_rules')
