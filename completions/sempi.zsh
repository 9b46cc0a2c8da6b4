
#compdef sempi

_sempi_completion() {
  eval $(env _TYPER_COMPLETE_ARGS="${words[1,$CURRENT]}" _SEMPI_COMPLETE=complete_zsh sempi)
}

compdef _sempi_completion sempi
