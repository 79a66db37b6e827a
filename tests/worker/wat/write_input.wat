;; Tries to create /input/escape.txt and exits with the WASI errno of that attempt (0 if it
;; worked). Before exiting it creates /output/proof.txt, to show that writing works there.
(module
  (import "wasi_snapshot_preview1" "fd_prestat_get"
    (func $fd_prestat_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_prestat_dir_name"
    (func $fd_prestat_dir_name (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_open"
    (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 100) "/input")
  (data (i32.const 120) "/output")
  (data (i32.const 200) "escape.txt")
  (data (i32.const 220) "proof.txt")

  ;; Returns the file descriptor of the preopened folder named [name, name + len); exits with
  ;; 100 when there is none.
  (func $preopen (param $name i32) (param $len i32) (result i32) (local $fd i32) (local $i i32)
    (local.set $fd (i32.const 3))
    (loop $next_fd
      ;; prestat at 0: tag at +0, name length at +4
      (if (call $fd_prestat_get (local.get $fd) (i32.const 0))
        (then (call $proc_exit (i32.const 100))))
      (if (i32.eq (i32.load (i32.const 4)) (local.get $len))
        (then
          (drop (call $fd_prestat_dir_name (local.get $fd) (i32.const 300) (local.get $len)))
          (local.set $i (i32.const 0))
          (block $differs
            (loop $next_byte
              (if (i32.eq (local.get $i) (local.get $len)) (then (return (local.get $fd))))
              (br_if $differs
                (i32.ne (i32.load8_u (i32.add (i32.const 300) (local.get $i)))
                        (i32.load8_u (i32.add (local.get $name) (local.get $i)))))
              (local.set $i (i32.add (local.get $i) (i32.const 1)))
              (br $next_byte)))))
      (local.set $fd (i32.add (local.get $fd) (i32.const 1)))
      (br $next_fd))
    unreachable)

  ;; Creates the file [path, path + len) in the folder fd for writing; returns the errno.
  (func $create (param $fd i32) (param $path i32) (param $len i32) (result i32)
    (call $path_open
      (local.get $fd) (i32.const 0) (local.get $path) (local.get $len)
      (i32.const 1)      ;; oflags: creat
      (i64.const 64)     ;; rights: fd_write
      (i64.const 0) (i32.const 0) (i32.const 400)))

  (func (export "_start") (local $errno i32)
    (local.set $errno
      (call $create (call $preopen (i32.const 100) (i32.const 6)) (i32.const 200) (i32.const 10)))
    (drop
      (call $create (call $preopen (i32.const 120) (i32.const 7)) (i32.const 220) (i32.const 9)))
    (call $proc_exit (local.get $errno))))
