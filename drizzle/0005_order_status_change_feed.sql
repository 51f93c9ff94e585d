-- The order status change log that subscriptions read (docs/api/subscriptions.md).
--
-- A change's position is its transaction's id, except when the order's
-- previous change has a higher one: a transaction that took its id first can
-- reach the order's row lock second (both ask for the row; the later id gets
-- it), and then its change, made after the other, must sort after it too.
-- Each statement of a trigger function sees what committed before it, so the
-- previous change is the one that held the lock. Readers take rows only below
-- the oldest transaction id still running in this database, where (position,
-- id) no longer changes.
CREATE FUNCTION "orders"."order_status_change_position"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.position := greatest(
    pg_current_xact_id(),
    (SELECT c.position FROM "orders"."order_status_changes" c WHERE c.order_id = NEW.order_id ORDER BY c.id DESC LIMIT 1)
  );
  RETURN NEW;
END
$$;--> statement-breakpoint
CREATE TRIGGER "order_status_changes_position"
  BEFORE INSERT ON "orders"."order_status_changes"
  FOR EACH ROW EXECUTE FUNCTION "orders"."order_status_change_position"();--> statement-breakpoint
-- Wakes every orders replica when a statement that added changes commits
-- (PostgreSQL delivers NOTIFY at commit, and sends one per transaction for
-- repeats of the same channel and payload). A hint: replicas also poll.
-- A statement trigger fires also when nothing was inserted (a transition whose
-- order had moved on): only one that added rows notifies.
CREATE FUNCTION "orders"."order_status_changes_notify"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT FROM added) THEN
    PERFORM pg_notify('orders_status_changes', '');
  END IF;
  RETURN NULL;
END
$$;--> statement-breakpoint
CREATE TRIGGER "order_status_changes_notify"
  AFTER INSERT ON "orders"."order_status_changes"
  REFERENCING NEW TABLE AS added
  FOR EACH STATEMENT EXECUTE FUNCTION "orders"."order_status_changes_notify"();
