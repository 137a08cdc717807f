#!/bin/sh
# ipmi_sim's chassis_control program for the IPMI end-to-end test: it is
# the machine's power supply and firmware. The test replaces @DIR@,
# @QEMU@, @SERIALPORT@, @MEM@ (the VM's memory) and @VMARGS@ (more QEMU
# arguments: the lifecycle test's NIC, its network-boot URL and SMBIOS
# serial; none for the power test).
#
#   chassis-control.sh DEVICE get PARM...        prints PARM:VALUE lines
#   chassis-control.sh DEVICE set PARM VALUE...  power 1|0, boot pxe|default|..
#
# "set power 1" starts QEMU detached (-daemonize, pidfile) with
# -boot order=n when the boot device is pxe and order=c otherwise, and
# returns at once (ipmi_sim waits about a second at most). Like a
# firmware honouring a one-time boot override, it then forgets the
# device. Every start and stop is appended to @DIR@/starts.
dir=@DIR@
pidfile=$dir/qemu.pid
bootfile=$dir/boot
echo "$(date +%s.%N) $*" >> "$dir/chassis.log"
# alive PID: the process exists and is not a zombie (QEMU is detached, and
# whoever reaps orphans here may do it late).
alive() { kill -0 "$1" 2>/dev/null && ! grep -q ') [ZXx] ' "/proc/$1/stat" 2>/dev/null; }
running() { [ -s "$pidfile" ] && alive "$(cat "$pidfile")"; }
shift
op=$1
shift
case $op in
get)
  for p in "$@"; do
    case $p in
      power) if running; then echo "power:1"; else echo "power:0"; fi ;;
      boot) echo "boot:$(cat "$bootfile" 2>/dev/null || echo default)" ;;
      *) echo "Invalid parameter: $p"; exit 1 ;;
    esac
  done ;;
set)
  while [ $# -gt 0 ]; do
    p=$1; v=$2; shift 2
    case $p in
      power)
        if [ "$v" = 1 ]; then
          running && continue
          order=c
          [ "$(cat "$bootfile" 2>/dev/null)" = pxe ] && order=n
          echo default > "$bootfile"
          @QEMU@ -nodefaults -accel tcg -m @MEM@ -display none -monitor none \
            -serial "file:$dir/serial.log" \
            -chardev socket,id=ipmi0,host=127.0.0.1,port=@SERIALPORT@,reconnect=10 \
            -device ipmi-bmc-extern,chardev=ipmi0,id=bmc0 -device isa-ipmi-kcs,bmc=bmc0 \
            @VMARGS@ -boot "order=$order" -pidfile "$pidfile" -daemonize >>"$dir/qemu.out" 2>&1 \
            || { echo "qemu failed: see $dir/qemu.out"; exit 1; }
          echo "start order=$order pid=$(cat "$pidfile")" >> "$dir/starts"
        else
          if running; then
            pid=$(cat "$pidfile")
            kill "$pid"
            i=0
            while alive "$pid" && [ $i -lt 15 ]; do sleep 0.05; i=$((i+1)); done
            alive "$pid" && kill -9 "$pid" 2>/dev/null
            echo "stop pid=$pid" >> "$dir/starts"
          fi
          rm -f "$pidfile"
        fi ;;
      boot) echo "$v" > "$bootfile" ;;
      reset) ;;
      identify) shift ;;
      *) echo "Invalid parameter: $p"; exit 1 ;;
    esac
  done ;;
check) exit 1 ;;
*) echo "Unknown operation: $op"; exit 1 ;;
esac
