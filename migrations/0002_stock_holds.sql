-- Units held out of stock for an order, released by the product's SKU actor.
--
-- 'assembling': taken for a multi-product order while its other products are
-- taken; the transaction that writes the order deletes them (and fails if any
-- is missing), an abandoned order's are released back to stock.
-- 'returning': written in the same transaction that moves an order to a
-- status that returns its stock (cancelled, failed); the SKU actor deletes
-- the row and adds the units back in one transaction.
--
-- products.stock is always the units still for sale: a hold's units are not
-- in it. So stock + held + units of live orders = everything ever stocked.

CREATE TABLE stock_holds (
    order_id   uuid        NOT NULL,
    product_id uuid        NOT NULL REFERENCES products (id),
    quantity   bigint      NOT NULL CHECK (quantity BETWEEN 1 AND 10000),
    kind       text        NOT NULL CHECK (kind IN ('assembling', 'returning')),
    created_at timestamptz NOT NULL,
    PRIMARY KEY (order_id, product_id)
);

-- The repair job finds holds left behind (crash, lost release) by age.
CREATE INDEX stock_holds_created_at ON stock_holds (created_at);
-- A SKU actor releases its product's holds.
CREATE INDEX stock_holds_product_id ON stock_holds (product_id);
