-- Renewal links: a renewal order names the order it renews; the old order
-- counts as renewed while such an order is not canceled or rejected.
ALTER TABLE orders ADD COLUMN renewal_of_order_id INTEGER REFERENCES orders(id);
CREATE INDEX orders_renewal ON orders(renewal_of_order_id) WHERE renewal_of_order_id IS NOT NULL;
CREATE INDEX orders_container ON orders(account_id, container_id);
