;; Runs forever. The loop calls a function because wasmtime writes its fuel counter back to the
;; store only around calls: a call-free loop would look as if it burnt no fuel.
(module
  (memory (export "memory") 1)
  (func $step (param i32) (result i32)
    (i32.add (local.get 0) (i32.const 1)))
  (func (export "_start") (local $i i32)
    (loop $forever
      (local.set $i (call $step (local.get $i)))
      (br $forever))))
