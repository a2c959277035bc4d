-- Payment and idempotent ordering (issue: the account model).
-- Money is kept in cents. A fresh account may go negative without limit
-- (a private PKI does not want orders refused for funds); an operator sets
-- a balance and a negative-balance limit to exercise the vendor's rules.
ALTER TABLE accounts ADD COLUMN balance_cents INTEGER NOT NULL DEFAULT 0;
ALTER TABLE accounts ADD COLUMN negative_limit_cents INTEGER NOT NULL DEFAULT 0;
ALTER TABLE accounts ADD COLUMN unlimited_negative INTEGER NOT NULL DEFAULT 1;

-- Every movement of an account balance: debits (orders, positive
-- amounts) and deposits (negative amounts). The triggers keep
-- accounts.balance_cents in step and refuse a debit the funds do not
-- cover, inside the transaction that creates the order.
CREATE TABLE balance_ledger (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    order_id INTEGER REFERENCES orders(id),
    amount_cents INTEGER NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL
);
CREATE INDEX balance_ledger_account ON balance_ledger(account_id, id);
CREATE TRIGGER balance_ledger_refuse_overdraft
BEFORE INSERT ON balance_ledger
WHEN NEW.amount_cents > 0 AND EXISTS (
    SELECT 1 FROM accounts a WHERE a.id = NEW.account_id AND a.unlimited_negative = 0
        AND a.balance_cents - NEW.amount_cents < -a.negative_limit_cents)
BEGIN
    SELECT RAISE(ABORT, 'certwell:insufficient_funds');
END;
CREATE TRIGGER balance_ledger_apply
AFTER INSERT ON balance_ledger
BEGIN
    UPDATE accounts SET balance_cents = balance_cents - NEW.amount_cents WHERE id = NEW.account_id;
END;

-- alternative_order_id: shown in order info; alt_id_unique holds the same
-- value when the account requires unique ids, and the index makes a second
-- order with it fail in its own transaction (concurrent retries included).
ALTER TABLE orders ADD COLUMN alternative_order_id TEXT;
ALTER TABLE orders ADD COLUMN alt_id_unique TEXT;
CREATE UNIQUE INDEX orders_alt_id_unique ON orders(account_id, alt_id_unique)
    WHERE alt_id_unique IS NOT NULL;
-- What the order cost (cents) and how it was paid.
ALTER TABLE orders ADD COLUMN price_cents INTEGER NOT NULL DEFAULT 0;
