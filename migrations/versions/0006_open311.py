"""Open311 API keys and request extras, unit contacts, outbox leases; more request channels

Revision ID: 0006_open311
Revises: 0005_admin
Create Date: 2026-12-02 09:10:00

"""
from alembic import op
import sqlalchemy as sa


revision = "0006_open311"
down_revision = "0005_admin"
branch_labels = None
depends_on = None

OLD_CHANNELS = ('web', 'phone', 'wechat', 'app', 'api')
NEW_CHANNELS = OLD_CHANNELS + ('weibo', 'msgboard', 'media', 'hotline')


def _channel_enum(values, name='channel'):
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=12)


def _set_channels(values):
    """Widen (or narrow) the CHECK on tickets.channel. SQLite re-creates the table in batch
    mode; PostgreSQL drops and re-adds the named constraint. Rows are kept either way."""
    if op.get_bind().dialect.name == 'postgresql':
        op.drop_constraint(op.f('ck_tickets_channel'), 'tickets', type_='check')
        op.create_check_constraint('channel', 'tickets', sa.column('channel').in_(values))
        return
    with op.batch_alter_table('tickets', schema=None, recreate='always') as batch_op:
        batch_op.drop_constraint(op.f('ck_tickets_channel'), type_='check')
        batch_op.create_check_constraint('channel', sa.column('channel').in_(values))


def upgrade():
    _set_channels(NEW_CHANNELS)

    op.create_table('api_keys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('channel', _channel_enum(NEW_CHANNELS, 'api_key_channel'), nullable=False),
    sa.Column('prefix', sa.String(length=12), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('rate_per_minute', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('last_used_at', sa.DateTime(), nullable=True),
    sa.Column('revoked_at', sa.DateTime(), nullable=True),
    sa.CheckConstraint('rate_per_minute > 0', name=op.f('ck_api_keys_rate_positive')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_api_keys_created_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_keys')),
    sa.UniqueConstraint('key_hash', name=op.f('uq_api_keys_key_hash'))
    )
    with op.batch_alter_table('api_keys', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_keys_prefix'), ['prefix'], unique=False)

    op.create_table('open311_requests',
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('api_key_id', sa.Integer(), nullable=False),
    sa.Column('token', sa.String(length=32), nullable=False),
    sa.Column('lat', sa.Float(), nullable=True),
    sa.Column('long', sa.Float(), nullable=True),
    sa.Column('address_string', sa.String(length=200), nullable=False),
    sa.Column('media_url', sa.String(length=500), nullable=False),
    sa.Column('attributes', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['api_key_id'], ['api_keys.id'], name=op.f('fk_open311_requests_api_key_id_api_keys')),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_open311_requests_ticket_id_tickets')),
    sa.PrimaryKeyConstraint('ticket_id', name=op.f('pk_open311_requests')),
    sa.UniqueConstraint('token', name=op.f('uq_open311_requests_token'))
    )
    with op.batch_alter_table('open311_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_open311_requests_api_key_id'), ['api_key_id'], unique=False)

    op.create_table('unit_contacts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=8), nullable=False),
    sa.Column('address', sa.String(length=254), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("channel IN ('email', 'sms')", name=op.f('ck_unit_contacts_channel')),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_unit_contacts_unit_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_unit_contacts')),
    sa.UniqueConstraint('unit_id', 'channel', 'address', name='uq_unit_contacts_unit_channel_address')
    )
    with op.batch_alter_table('unit_contacts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_unit_contacts_unit_id'), ['unit_id'], unique=False)

    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('audience', sa.String(length=8), server_default='citizen', nullable=False))
        batch_op.add_column(sa.Column('unit_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('dedupe_key', sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column('claimed_by', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('lease_until', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('dead_at', sa.DateTime(), nullable=True))
        batch_op.create_index(batch_op.f('ix_outbox_unit_id'), ['unit_id'], unique=False)
        batch_op.create_unique_constraint(batch_op.f('uq_outbox_dedupe_key'), ['dedupe_key'])
        batch_op.create_foreign_key(batch_op.f('fk_outbox_unit_id_units'), 'units', ['unit_id'], ['id'])


def downgrade():
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_outbox_unit_id_units'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('uq_outbox_dedupe_key'), type_='unique')
        batch_op.drop_index(batch_op.f('ix_outbox_unit_id'))
        batch_op.drop_column('dead_at')
        batch_op.drop_column('lease_until')
        batch_op.drop_column('claimed_by')
        batch_op.drop_column('dedupe_key')
        batch_op.drop_column('unit_id')
        batch_op.drop_column('audience')
    with op.batch_alter_table('unit_contacts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_unit_contacts_unit_id'))
    op.drop_table('unit_contacts')
    with op.batch_alter_table('open311_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_open311_requests_api_key_id'))
    op.drop_table('open311_requests')
    with op.batch_alter_table('api_keys', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_keys_prefix'))
    op.drop_table('api_keys')
    # requests that came in through the new channels are kept, counted as API requests
    tickets = sa.table('tickets', sa.column('channel', sa.String))
    op.execute(tickets.update().where(tickets.c.channel.notin_(OLD_CHANNELS)).values(channel='api'))
    _set_channels(OLD_CHANNELS)
