# Bash completion for kiroku and kiroku-node (make install puts it where bash-completion
# finds it). Commands and each command's options come from the program itself
# (`kiroku help --commands`, the synopsis of `kiroku help COMMAND`), so they are never
# out of date.

_kiroku() {
  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]} prog=${COMP_WORDS[0]} cmd="" i
  for ((i = 1; i < COMP_CWORD; i++)); do
    case ${COMP_WORDS[i]} in
      -C) ((i++)) ;;
      -*) ;;
      *) cmd=${COMP_WORDS[i]}; break ;;
    esac
  done
  if [[ $prev == -C ]]; then
    mapfile -t COMPREPLY < <(compgen -d -- "$cur")
    return
  fi
  if [[ -z $cmd || $cmd == help ]]; then
    local words
    if [[ $cur == -* ]]; then words="-C --help --version"
    else
      words=$("$prog" help --commands 2>/dev/null)
      [[ -z $cmd ]] && words+=" help version"
    fi
    mapfile -t COMPREPLY < <(compgen -W "$words" -- "$cur")
    return
  fi
  if [[ $cur == -* ]]; then
    local opts
    opts=$("$prog" help "$cmd" 2>/dev/null | head -1 | grep -o -- '--[a-z][a-z-]*' | sort -u)
    mapfile -t COMPREPLY < <(compgen -W "$opts --help" -- "$cur")
  else
    mapfile -t COMPREPLY < <(compgen -f -- "$cur")
  fi
}
complete -F _kiroku kiroku

_kiroku_node() {
  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
  case $prev in
    -C) mapfile -t COMPREPLY < <(compgen -d -- "$cur"); return ;;
    --config) mapfile -t COMPREPLY < <(compgen -f -- "$cur"); return ;;
    --listen|--peer) COMPREPLY=(); return ;;
  esac
  mapfile -t COMPREPLY < <(compgen -W "-C --listen --peer --config --standalone --help --version" -- "$cur")
}
complete -F _kiroku_node kiroku-node
